/** The sum of the samples of every series of the node's `/metrics` whose line matches `pattern`. */
export async function metricSum(node: { adminUrl: string }, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${node.adminUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/**
 * Rate checks the nodes report unanswered by Redis within the request budget, each decided by
 * its node alone: what a limit test may see allowed beyond the limit (loaded cores can be that slow).
 */
export async function unansweredRateChecks(nodes: ReadonlyArray<{ adminUrl: string }>): Promise<number> {
  let sum = 0;
  for (const node of nodes) sum += await metricSum(node, /^palisade_redis_command_duration_seconds_count\{command="gcra",outcome="(error|unavailable)"/);
  return sum;
}
