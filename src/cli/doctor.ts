import { exitCodes } from '../errors.js';
import { runRedisDoctor } from '../doctor/redis-checks.js';
import { formatFindings } from '../doctor/findings.js';
import { loadFromProcess } from '../process-settings.js';
import type { RedisSettings } from '../settings/types.generated.js';

/**
 * `palisade doctor`: checks the Redis the node would use, with its own settings.
 * Exit 0 when nothing is error-level, 1 otherwise, 2 when Redis cannot be reached,
 * 78 for invalid settings.
 */
export async function doctorCommand(options: { json?: boolean }): Promise<number> {
  const loaded = (await loadFromProcess()).result;
  if (!loaded.ok) return exitCodes.config;
  const settings = loaded.settings as unknown as RedisSettings & { NODE_NAME: string };
  if (!settings.USE_REDIS) {
    process.stdout.write(
      options.json
        ? `${JSON.stringify({ redis: false, findings: [] })}\n`
        : 'palisade doctor: USE_REDIS=no, this node keeps its state locally; nothing to check\n',
    );
    return exitCodes.ok;
  }
  const result = await runRedisDoctor(settings, settings.NODE_NAME);
  if (!result.reachable) {
    process.stdout.write(options.json ? `${JSON.stringify({ redis: true, reachable: false, error: result.reason })}\n` : '');
    process.stderr.write(`palisade doctor: ${result.reason} [PAL_REDIS_UNAVAILABLE]\n`);
    return exitCodes.unreachable;
  }
  const failed = result.findings.some((f) => f.severity === 'error');
  process.stdout.write(
    options.json
      ? `${JSON.stringify({ redis: true, reachable: true, target: result.target, findings: result.findings }, null, 2)}\n`
      : `${formatFindings(`palisade doctor: Redis ${result.target}`, result.findings)}\n`,
  );
  return failed ? exitCodes.failure : exitCodes.ok;
}
