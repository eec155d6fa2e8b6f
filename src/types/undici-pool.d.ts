/** undici's Pool class from its own file (see src/proxy/forward-undici.ts): the type undici declares for it. */
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
