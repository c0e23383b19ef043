/**
 * `vidgraph workers`: the workers connected to a queue (BullMQ names each worker's Redis
 * connection), with the tasks each is running.
 */
import { bullmq, queueName, redisUrl, TaskData } from './queue';

/** One live worker. */
export interface WorkerListing {
  /** Its name: host:pid. */
  name: string;
  /** Its address as Redis sees it. */
  addr: string;
  /** Seconds since it connected. */
  ageSec: number;
  /** Seconds since its connection was last used. */
  idleSec: number;
  /** The tasks it runs now: `<run>-<job>` ids with their jobs' names. */
  tasks: { id: string; job: string }[];
}

export async function listWorkers(redis: string, queue?: string): Promise<WorkerListing[]> {
  const url = redisUrl('workers', redis);
  const name = queueName('workers', queue);
  const { bull, connect } = await bullmq();
  const connection = connect(url);
  const q = new bull.Queue<TaskData>(name, { connection });
  try {
    const [clients, active] = await Promise.all([q.getWorkers(), q.getActive()]);
    return clients.map((c) => {
      const raw = c.rawname ?? c.name ?? '';
      const worker = raw.includes(':w:') ? raw.slice(raw.indexOf(':w:') + 3) : '(unnamed)';
      return {
        name: worker,
        addr: c.addr ?? '',
        ageSec: Number(c.age ?? 0),
        idleSec: Number(c.idle ?? 0),
        tasks: active.filter((t) => t.processedBy === worker).map((t) => ({ id: String(t.id), job: t.data?.name ?? '' })),
      };
    }).sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    await q.close().catch(() => undefined);
    connection.disconnect();
  }
}
