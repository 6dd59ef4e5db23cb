import { describe, expect, it } from 'vitest';
import { SerialPass } from '../../src/serial-pass.js';

/** A pass whose runs the test ends one by one. */
function gatedPass() {
  const ends: Array<() => void> = [];
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    pass: () => {
      runs++;
      return new Promise<void>((resolve) => ends.push(resolve));
    },
    endOne: () => ends.shift()?.(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SerialPass', () => {
  it('runs one pass at a time, and once more after it however often it was asked meanwhile', async () => {
    const gate = gatedPass();
    const serial: SerialPass = new SerialPass({
      pass: gate.pass,
      onError: (err) => {
        throw err;
      },
      rerun: () => serial.run(),
    });
    serial.run();
    serial.run();
    serial.run();
    expect(gate.runs).toBe(1);
    gate.endOne();
    await settle();
    expect(gate.runs).toBe(2);
    gate.endOne();
    await settle();
    expect(gate.runs).toBe(2);
    expect(serial.current).toBeUndefined();
  });

  it('reports a failed pass to onError, and the next ask runs again', async () => {
    const errors: unknown[] = [];
    let fail = true;
    let runs = 0;
    const serial: SerialPass = new SerialPass({
      pass: async () => {
        runs++;
        if (fail) throw new Error('boom');
      },
      onError: (err) => errors.push(err),
      rerun: () => serial.run(),
    });
    serial.run();
    await serial.current;
    expect(errors).toEqual([new Error('boom')]);
    fail = false;
    serial.run();
    await serial.current;
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('starts the pass asked for meanwhile through rerun (the owner may decline)', async () => {
    const gate = gatedPass();
    let reruns = 0;
    const serial = new SerialPass({ pass: gate.pass, onError: () => {}, rerun: () => reruns++ });
    serial.run();
    serial.run();
    const current = serial.current;
    gate.endOne();
    await current;
    await settle();
    expect(reruns).toBe(1);
    expect(gate.runs).toBe(1);
  });
});
