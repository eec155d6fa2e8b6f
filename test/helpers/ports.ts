/** One `freePort` for the bench and the tests: the bench's. */
export { freePort } from '../../bench/ports.js';
