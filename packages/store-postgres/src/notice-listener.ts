// The dedicated connection that LISTENs for execution notices on a PostgreSQL server. It is opened by the first
// subscription and closed with the last; when it drops (server restart, pg_terminate_backend, network), it is
// reopened with backoff, and the subscribers are told that notices may have been missed meanwhile.
import { UnavailableError } from '@flyte-ts/core';
import { translateError } from './errors.js';

/** What the listener needs of a `pg` client. */
export interface ListenClient {
  /** Runs one statement. */
  query(statement: string): Promise<unknown>;
  /** `notification`: a NOTIFY on a channel this client listens to; `error` and `end`: the connection broke. */
  on(event: 'notification', listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  on(event: 'error' | 'end', listener: () => void): unknown;
}

/** Opens and closes the listening connection. */
export interface ListenConnector {
  /** Opens a connection (it must have an `error` listener before it connects, so a failure cannot crash). */
  connect(): Promise<ListenClient>;
  /** Closes a connection opened by `connect`, for good (it never goes back to a pool). */
  close(client: ListenClient): Promise<void>;
}

/** First and longest wait before reopening a dropped connection, in ms. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5_000;

/** One LISTEN connection, reopened when it drops, until closed. Single use: closed, it stays closed. */
export class NoticeListener {
  readonly #connector: ListenConnector;
  readonly #channel: string;
  readonly #onPayload: (payload: string) => void;
  readonly #onMissed: () => void;
  #client: ListenClient | undefined;
  #started: Promise<void> | undefined;
  #retryMs = RETRY_BASE_MS;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /**
   * @param connector opens and closes the connection
   * @param channel the channel to LISTEN to (an SQL identifier of this package, not user input)
   * @param onPayload called with the payload of each notification on the channel
   * @param onMissed called each time the connection was reopened after it dropped
   */
  constructor(connector: ListenConnector, channel: string, onPayload: (payload: string) => void, onMissed: () => void) {
    this.#connector = connector;
    this.#channel = channel;
    this.#onPayload = onPayload;
    this.#onMissed = onMissed;
  }

  /**
   * Resolves once listening (the first call opens the connection).
   * @throws {UnavailableError} `UNAVAILABLE` when the first connection cannot be opened
   */
  start(): Promise<void> {
    this.#started ??= this.#open().catch((error: unknown) => {
      this.#started = undefined;
      throw translateError(error, 'listen for execution notices');
    });
    return this.#started;
  }

  /** Closes the connection and stops reopening it. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#started?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await this.#connector.close(client).catch(() => undefined);
  }

  async #open(): Promise<void> {
    if (this.#closed) throw new UnavailableError('the notice listener is closed', { id: this.#channel });
    const client = await this.#connector.connect();
    let listening = false;
    let dropped = false;
    let openedAt = 0;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (this.#client === client) this.#client = undefined;
      void this.#connector.close(client).catch(() => undefined);
      // A drop while the LISTEN is being set up fails that attempt instead (its caller decides).
      if (!listening) return;
      // Only a connection that held a while earns a quick reopen: one dropped again and again backs off.
      if (Date.now() - openedAt >= RETRY_MAX_MS) this.#retryMs = RETRY_BASE_MS;
      this.#reopenLater();
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (message) => {
      if (message.channel === this.#channel && message.payload !== undefined) this.#onPayload(message.payload);
    });
    try {
      await client.query(`LISTEN ${this.#channel}`);
    } catch (error) {
      dropped = true;
      await this.#connector.close(client).catch(() => undefined);
      throw error;
    }
    if (dropped) throw new UnavailableError('the notice connection dropped while it was set up', { id: this.#channel });
    if (this.#closed) {
      dropped = true;
      await this.#connector.close(client).catch(() => undefined);
      return;
    }
    listening = true;
    openedAt = Date.now();
    this.#client = client;
  }

  #reopenLater(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, delay * 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#open().then(
        () => {
          if (!this.#closed) this.#onMissed();
        },
        () => this.#reopenLater(),
      );
    }, delay);
    // Reopening alone does not keep a process alive.
    this.#timer.unref();
  }
}
