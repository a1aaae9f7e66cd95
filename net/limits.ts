/**
 * The wire's limits: what one peer may make another buffer, and for how long. The defaults are
 * chosen so real workloads never reach them (a header of hundreds of MB is a graph of millions of
 * tasks; frames carry arrays up to 1 GiB each) while a peer that has not finished its handshake
 * can make a process hold no more than a few KiB, for no longer than the handshake deadline.
 *
 * @module
 */

/** Every limit the wire enforces, per connection (and per remote host for the listener). */
export interface WireLimits {
  /** The largest frame (a buffer travelling out of band) accepted, in bytes. 1 GiB. */
  maxFrameBytes: number;
  /** The largest message header (its msgpack body) accepted, in bytes. 512 MiB. */
  maxHeaderBytes: number;
  /** The most frames one message may carry. 1,048,575. */
  maxFramesPerMessage: number;
  /**
   * Until the handshake completes (and the peer proved the token, when one is set), no part of
   * a message may be larger than this, in bytes. 4 KiB: a hello is ~60 bytes.
   */
  maxHandshakeBytes: number;
  /** The peer must complete its handshake within this time, in ms. 10 s. */
  handshakeTimeoutMs: number;
  /**
   * The most connections (handshaking or open) a listener keeps from one remote host; more are
   * closed at once. 1,024: one host's workers and clients stay far below it.
   */
  maxConnectionsPerHost: number;
}

/** The limits used where none are given. */
export const DEFAULT_WIRE_LIMITS: Readonly<WireLimits> = Object.freeze({
  maxFrameBytes: 1 << 30,
  maxHeaderBytes: 512 * 1024 * 1024,
  maxFramesPerMessage: (1 << 20) - 1,
  maxHandshakeBytes: 4 * 1024,
  handshakeTimeoutMs: 10_000,
  maxConnectionsPerHost: 1024,
});
