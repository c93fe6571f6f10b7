/**
 * Where a service's time goes in the database: per command, collection and filter shape (values
 * masked), how many ran and how long they took, from the MongoDB driver's command monitoring. For
 * benchmarks that start a service in-process; its connection URL must carry `monitorCommands=true`
 * ({@link monitoredUrl}). Call {@link monitorMongoCommands} after the service connected.
 *
 * This is how the allocation benchmark found a dotted-path filter scanning every assignment.
 */
import mongoose from 'mongoose';

export function monitoredUrl(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}monitorCommands=true`;
}

interface CommandEvent {
  requestId: number;
  commandName: string;
  command?: Record<string, unknown>;
  duration?: number;
}

type Monitored = { on(event: string, listener: (event: CommandEvent) => void): void };

/** The filter's shape: field names and operators kept, values masked. */
function shapeOf(command: Record<string, unknown>): string {
  const first = (key: string) => (command[key] as { q?: unknown }[] | undefined)?.[0]?.q;
  const filter = command.filter ?? command.query ?? first('updates') ?? first('deletes') ?? {};
  return JSON.stringify(filter, (_key, value: unknown) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? '?' : value,
  ).slice(0, 160);
}

export function monitorMongoCommands(): { report(top?: number): string } {
  const stats = new Map<string, { n: number; ms: number }>();
  const started = new Map<number, string>();
  for (const connection of mongoose.connections) {
    const client = connection.getClient() as unknown as Monitored | undefined;
    if (client === undefined) continue;
    client.on('commandStarted', (event) => {
      const command = event.command ?? {};
      started.set(
        event.requestId,
        `${event.commandName} ${String(command[event.commandName])} ${shapeOf(command)}`,
      );
    });
    client.on('commandSucceeded', (event) => {
      const key = started.get(event.requestId);
      if (key === undefined) return;
      started.delete(event.requestId);
      const entry = stats.get(key) ?? { n: 0, ms: 0 };
      entry.n += 1;
      entry.ms += event.duration ?? 0;
      stats.set(key, entry);
    });
  }
  return {
    report(top = 15) {
      return [...stats]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, top)
        .map(
          ([key, v]) =>
            `${v.ms.toFixed(0).padStart(8)} ms ${String(v.n).padStart(7)}× ${(v.ms / v.n).toFixed(2).padStart(8)} ms/op  ${key}`,
        )
        .join('\n');
    },
  };
}
