import { describe, expect, it } from 'vitest';
import { Detections, type DetectionNote } from '../../plugins/modsecurity/detections.js';

const HOUR = 3_600_000;

function note(ip: string, at: number, path: string, rules: number[], refused = true): DetectionNote {
  return { ip, at, method: 'GET', path, rules: rules.map((id) => [id, `rule ${id}`]), categories: ['sqli'], refused };
}

describe("the node's record of its WAF detections", () => {
  it("keeps each client's last ten matched requests, newest first", () => {
    const detections = new Detections(() => 0);
    for (let i = 0; i < 12; i++) detections.add(note('192.0.2.1', i, `/p${i}`, [942100]));
    const recent = detections.recent('192.0.2.1');
    expect(recent).toHaveLength(10);
    expect(recent[0]!.path).toBe('/p11');
    expect(detections.recent('192.0.2.2')).toEqual([]);
  });

  it("counts the last day's refusals by rule and by path, largest first, and forgets older hours", () => {
    let now = 30 * HOUR;
    const detections = new Detections(() => now);
    detections.add(note('192.0.2.1', 2 * HOUR, '/old', [941100]));
    for (let i = 0; i < 3; i++) detections.add(note('192.0.2.1', now - HOUR, '/search', [942100, 942190]));
    detections.add(note('192.0.2.2', now, '/login', [942100]));
    detections.add(note('192.0.2.3', now, '/search', [920350], false));
    expect(detections.lastDay()).toEqual({
      refused: 4,
      rules: [
        ['942100', 4],
        ['942190', 3],
      ],
      paths: [
        ['GET /search', 3],
        ['GET /login', 1],
      ],
    });
    now += 24 * HOUR;
    expect(detections.lastDay().refused).toBe(1);
  });
});
