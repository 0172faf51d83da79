import { createPacer } from '../../src/teams/conversation-pacer';

describe('the per-conversation pacer', () => {
  it("keeps to Teams' 7 per second and 8 per 2 seconds, per conversation", () => {
    let now = 0;
    const pacer = createPacer(undefined, () => now, 100);
    const sent = Array.from({ length: 7 }, () => pacer.tryAcquire('c1'));
    expect(sent).toEqual([0, 0, 0, 0, 0, 0, 0]);
    // The windows carry 100 ms of slack for network jitter.
    expect(pacer.tryAcquire('c1')).toBe(1100);
    expect(pacer.tryAcquire('c2')).toBe(0);
    now = 1100;
    expect(pacer.tryAcquire('c1')).toBe(0);
    // Eight in two seconds (plus slack) now: the ninth waits for the first to leave that window.
    expect(pacer.tryAcquire('c1')).toBe(1000);
    now = 2100;
    expect(pacer.tryAcquire('c1')).toBe(0);
  });

  it('enforces the hourly budget', () => {
    let now = 0;
    const pacer = createPacer([{ max: 3, windowMs: 3_600_000 }], () => now, 0);
    for (let i = 0; i < 3; i++) expect(pacer.tryAcquire('c')).toBe(0);
    now = 600_000;
    expect(pacer.tryAcquire('c')).toBe(3_000_000);
  });
});
