/**
 * Pub/Sub books (Dask's `PubSubSchedulerExtension`): who subscribes to each topic — a client,
 * and the worker its Subs run on when they run in tasks — and which clients publish to it, so
 * they can be told when the subscribers change. Messages between tasks never pass here: a Pub
 * sends them to the subscribing workers itself (peer to peer); only messages for Subs of plain
 * clients are forwarded by the scheduler. Pure bookkeeping.
 *
 * @module
 */

/** Who a Pub must send to. */
export interface Subscribers {
  /** Workers whose tasks subscribe (sent to peer to peer). */
  workers: string[];
  /** Whether some client outside a task subscribes (sent through the scheduler). */
  clients: boolean;
}

interface Subscription {
  /** The worker its Subs run on (in tasks), or null for a client's own. */
  worker: string | null;
  /** Sub objects of this client on the topic. */
  count: number;
}

export class PubSubBooks {
  /** Topic → client → its subscription. */
  readonly #subscriptions = new Map<string, Map<string, Subscription>>();
  /** Topic → clients with a Pub on it. */
  readonly #publishers = new Map<string, Set<string>>();

  /** A Sub of `client` (in a task on `worker`, or not) on `topic`; true when the set changed. */
  subscribe(topic: string, client: string, worker: string | null): boolean {
    let byClient = this.#subscriptions.get(topic);
    if (byClient === undefined) this.#subscriptions.set(topic, byClient = new Map());
    const found = byClient.get(client);
    if (found !== undefined) {
      found.count++;
      return false;
    }
    byClient.set(client, { worker, count: 1 });
    return true;
  }

  /** One Sub of `client` on `topic` less; true when the set changed. */
  unsubscribe(topic: string, client: string): boolean {
    const byClient = this.#subscriptions.get(topic);
    const found = byClient?.get(client);
    if (byClient === undefined || found === undefined) return false;
    if (--found.count > 0) return false;
    byClient.delete(client);
    if (byClient.size === 0) this.#subscriptions.delete(topic);
    return true;
  }

  /** `client` publishes on `topic`. */
  addPublisher(topic: string, client: string): void {
    let set = this.#publishers.get(topic);
    if (set === undefined) this.#publishers.set(topic, set = new Set());
    set.add(client);
  }

  /** Who subscribes to `topic`. */
  subscribers(topic: string): Subscribers {
    const workers = new Set<string>();
    let clients = false;
    for (const { worker } of this.#subscriptions.get(topic)?.values() ?? []) {
      if (worker === null) clients = true;
      else workers.add(worker);
    }
    return { workers: [...workers], clients };
  }

  /** Clients outside tasks that subscribe to `topic` (the scheduler forwards to them). */
  clientSubscribers(topic: string): string[] {
    const out: string[] = [];
    for (const [client, { worker }] of this.#subscriptions.get(topic) ?? []) {
      if (worker === null) out.push(client);
    }
    return out;
  }

  /** Clients publishing on `topic`. */
  publishers(topic: string): Iterable<string> {
    return this.#publishers.get(topic) ?? [];
  }

  /** `client` left: gives the topics whose subscribers changed. */
  clientGone(client: string): string[] {
    const changed: string[] = [];
    for (const [topic, byClient] of this.#subscriptions) {
      if (!byClient.delete(client)) continue;
      changed.push(topic);
      if (byClient.size === 0) this.#subscriptions.delete(topic);
    }
    for (const [topic, set] of this.#publishers) {
      if (set.delete(client) && set.size === 0) this.#publishers.delete(topic);
    }
    return changed;
  }
}
