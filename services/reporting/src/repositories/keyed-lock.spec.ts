import { describe, expect, it } from 'vitest';
import { createKeyedLock } from './keyed-lock.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createKeyedLock', () => {
  it('runs work of one key one at a time, in call order', async () => {
    const lock = createKeyedLock();
    let running = 0;
    let maxRunning = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        lock.run('k', async () => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await tick();
          order.push(i);
          running -= 1;
        }),
      ),
    );
    expect(maxRunning).toBe(1);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('runs different keys in parallel', async () => {
    const lock = createKeyedLock();
    let running = 0;
    let maxRunning = 0;
    await Promise.all(
      ['a', 'b', 'c'].map((key) =>
        lock.run(key, async () => {
          running += 1;
          maxRunning = Math.max(maxRunning, running);
          await tick();
          running -= 1;
        }),
      ),
    );
    expect(maxRunning).toBe(3);
  });

  it('keeps going after a failure and returns each result', async () => {
    const lock = createKeyedLock();
    const failed = lock.run('k', () => Promise.reject(new Error('boom')));
    const next = lock.run('k', () => Promise.resolve(42));
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe(42);
  });
});
