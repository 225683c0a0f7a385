/** The HTTP proxy's choice among several instances (issue 20): least outstanding requests. */
import { describe, expect, it } from 'vitest';
import { TargetSlots } from '../../src/reload/http-proxy-balance.js';

const target = (name: string, inFlight = 0): { name: string; inFlight: number } => ({ name, inFlight });

describe('TargetSlots', () => {
  it('is empty until a slot is set, and one target is always the one', () => {
    const slots = new TargetSlots<ReturnType<typeof target>>();
    expect(slots.pick()).toBeNull();
    const a = target('a', 9);
    slots.set(0, a);
    expect(slots.pick()).toBe(a);
    // A retried request goes back to the only instance there is.
    expect(slots.pick(a)).toBe(a);
  });

  it('picks the target with the fewest requests in flight', () => {
    const slots = new TargetSlots<ReturnType<typeof target>>();
    const [a, b, c] = [target('a', 3), target('b', 1), target('c', 2)];
    slots.set(0, a);
    slots.set(1, b);
    slots.set(2, c);
    for (let k = 0; k < 5; k += 1) expect(slots.pick()).toBe(b);
    b.inFlight = 5;
    expect(slots.pick()).toBe(c);
  });

  it('spreads ties instead of sending everything to slot 0', () => {
    const slots = new TargetSlots<ReturnType<typeof target>>();
    const all = [target('a'), target('b'), target('c')];
    all.forEach((t, i) => slots.set(i, t));
    const seen = new Set(Array.from({ length: 3 }, () => slots.pick()?.name));
    expect([...seen].sort()).toEqual(['a', 'b', 'c']);
  });

  it('avoids the target a retried request failed on while another is there', () => {
    const slots = new TargetSlots<ReturnType<typeof target>>();
    const [a, b] = [target('a', 0), target('b', 7)];
    slots.set(0, a);
    slots.set(1, b);
    expect(slots.pick(a)).toBe(b);
  });

  it('replaces a slot (a blue/green swap) and empties one (a crash, a scale down)', () => {
    const slots = new TargetSlots<ReturnType<typeof target>>();
    const [blue, green, other] = [target('blue'), target('green'), target('other', 4)];
    slots.set(0, blue);
    slots.set(1, other);
    expect(slots.set(0, green)).toBe(blue);
    expect(slots.has(blue)).toBe(false);
    expect(slots.active()).toEqual([green, other]);
    expect(slots.set(0, null)).toBe(green);
    expect(slots.pick()).toBe(other);
    expect(slots.first()).toBe(other);
  });
});
