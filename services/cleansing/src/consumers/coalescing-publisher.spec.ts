import type { Envelope } from '@leadflow/contracts/envelope';
import type { Publisher } from '@leadflow/platform/kafka';
import { describe, expect, it } from 'vitest';
import { coalescingPublisher } from './coalescing-publisher.js';

const envelope = (id: string) => ({ id }) as unknown as Envelope;

/** A publisher whose requests complete when the test says so, recording what each carried. */
function manualPublisher() {
  const requests: { topic: string; ids: string[]; finish: (error?: Error) => void }[] = [];
  const inner: Publisher = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    publish(topic, envelopes) {
      const list: readonly Envelope[] = Array.isArray(envelopes) ? envelopes : [envelopes as Envelope];
      return new Promise<void>((resolve, reject) => {
        requests.push({
          topic,
          ids: list.map((e) => e.id),
          finish: (error) => (error === undefined ? resolve() : reject(error)),
        });
      });
    },
  };
  return { inner, requests };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('coalescingPublisher', () => {
  it('sends what was published during a request in one next request per topic', async () => {
    const { inner, requests } = manualPublisher();
    const publisher = coalescingPublisher(inner);
    const settled: string[] = [];
    const first = publisher.publish('a', envelope('1')).then(() => settled.push('1'));
    const second = publisher.publish('a', envelope('2')).then(() => settled.push('2'));
    const third = publisher.publish('a', [envelope('3'), envelope('4')]).then(() => settled.push('3'));
    const other = publisher.publish('b', envelope('5')).then(() => settled.push('5'));
    await tick();
    expect(requests.map((r) => [r.topic, r.ids])).toEqual([['a', ['1']]]);

    requests[0]!.finish();
    await first;
    await tick();
    expect(settled).toEqual(['1']);
    expect(requests.slice(1).map((r) => [r.topic, r.ids])).toEqual([
      ['a', ['2', '3', '4']],
      ['b', ['5']],
    ]);

    requests[1]!.finish();
    await Promise.all([second, third]);
    expect(settled).toEqual(['1', '2', '3']);
    requests[2]!.finish();
    await other;
    expect(settled).toEqual(['1', '2', '3', '5']);
  });

  it('rejects only the callers of a failed request, and keeps sending afterwards', async () => {
    const { inner, requests } = manualPublisher();
    const publisher = coalescingPublisher(inner);
    const failed = publisher.publish('a', envelope('1'));
    const failedOutcome = failed.then(
      () => 'sent',
      (error: unknown) => (error as Error).message,
    );
    await tick();
    requests[0]!.finish(new Error('broker down'));
    expect(await failedOutcome).toBe('broker down');

    const later = publisher.publish('a', envelope('2'));
    await tick();
    expect(requests[1]?.ids).toEqual(['2']);
    requests[1]!.finish();
    await expect(later).resolves.toBeUndefined();
  });

  it('caps a merged request at the given number of envelopes', async () => {
    const { inner, requests } = manualPublisher();
    const publisher = coalescingPublisher(inner, 2);
    const all = ['1', '2', '3', '4'].map((id) => publisher.publish('a', envelope(id)));
    await tick();
    requests[0]!.finish();
    await tick();
    expect(requests.map((r) => r.ids)).toEqual([['1'], ['2', '3']]);
    requests[1]!.finish();
    await tick();
    expect(requests.map((r) => r.ids)).toEqual([['1'], ['2', '3'], ['4']]);
    requests[2]!.finish();
    await Promise.all(all);
  });

  it('passes calls with their own headers straight through', async () => {
    const { inner, requests } = manualPublisher();
    const publisher = coalescingPublisher(inner);
    const merged = publisher.publish('a', envelope('1'));
    const direct = publisher.publish('a', envelope('2'), { headers: { h: 'v' } });
    await tick();
    expect(requests.map((r) => r.ids)).toEqual([['1'], ['2']]);
    for (const r of requests) r.finish();
    await Promise.all([merged, direct]);
  });
});
