import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runService, type ProcessLike } from './run-service.js';

function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const proc = {
    on: (event: string, listener: (...args: unknown[]) => void) => emitter.on(event, listener),
    exit: (code: number) => void exits.push(code),
  } as ProcessLike;
  return { proc, emitter, exits };
}

const logger = pino({ level: 'silent' });
const flush = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('runService', () => {
  it('closes resources in order on SIGTERM and exits 0', async () => {
    const { proc, emitter, exits } = fakeProcess();
    const order: string[] = [];
    const resource = (name: string) => ({ name, close: () => Promise.resolve(void order.push(name)) });
    await runService({
      name: 'svc',
      logger,
      process: proc,
      start: async () => {},
      stop: [resource('consumer'), resource('http'), resource('mongo')],
    });
    emitter.emit('SIGTERM');
    emitter.emit('SIGTERM');
    await flush();
    expect(order).toEqual(['consumer', 'http', 'mongo']);
    expect(exits).toEqual([1, 0]);
  });

  it('keeps closing after a failure or a timeout and exits 1', async () => {
    const { proc, exits } = fakeProcess();
    const order: string[] = [];
    const running = await runService({
      name: 'svc',
      logger,
      process: proc,
      shutdownTimeoutMs: 50,
      start: async () => {},
      stop: [
        { name: 'broken', close: () => Promise.reject(new Error('boom')) },
        { name: 'stuck', close: () => new Promise<void>(() => {}) },
        { name: 'last', close: () => Promise.resolve(void order.push('last')) },
      ],
    });
    expect(await running.shutdown('test')).toBe(1);
    expect(order).toEqual(['last']);
    expect(exits).toEqual([1]);
  });

  it('shuts down with exit 1 when start fails or an exception escapes', async () => {
    const failed = fakeProcess();
    await runService({
      name: 'svc',
      logger,
      process: failed.proc,
      start: () => Promise.reject(new Error('no db')),
      stop: [],
    });
    expect(failed.exits).toEqual([1]);

    const crashed = fakeProcess();
    const closed: string[] = [];
    await runService({
      name: 'svc',
      logger,
      process: crashed.proc,
      start: async () => {},
      stop: [{ name: 'mongo', close: () => Promise.resolve(void closed.push('mongo')) }],
    });
    crashed.emitter.emit('uncaughtException', new Error('bug'));
    await flush();
    expect(closed).toEqual(['mongo']);
    expect(crashed.exits).toEqual([1]);
  });
});
