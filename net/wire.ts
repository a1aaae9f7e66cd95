/**
 * The transport in one import: how messages travel over TCP between the scheduler, workers and
 * clients. Each concept has its own file; this module only gathers them for the rooms above.
 *
 * - net/framing.ts: a message's layout on the stream, the write queue
 * - net/handshake.ts: the prefix and hello both sides send first
 * - net/auth.ts: the shared-token proof that follows the hello
 * - net/limits.ts: what a peer may make this side buffer
 * - net/frame_reader.ts: the incremental parser of the byte stream
 * - net/address.ts: `tcp://host:port`
 * - net/connection.ts: a handshaken socket carrying messages
 * - net/batch.ts: several headers as one message
 * - net/listener.ts: accepting connections
 *
 * A message over the size limit or one that does not decode closes its connection with a
 * reason; the process goes on serving every other connection.
 *
 * @module
 */

export { encodeMessage, type Message, WireError } from "./framing.ts";
export {
  handshakeBytes,
  parseHandshakePrefix,
  type PeerHello,
  PROTOCOL_VERSION,
} from "./handshake.ts";
export { DEFAULT_MAX_FRAME_BYTES, FrameReader, type FrameReaderOptions } from "./frame_reader.ts";
export { formatAddress, parseAddress } from "./address.ts";
export {
  AUTH_PROOF_OP,
  AuthenticationError,
  authKey,
  type ConnectionSide,
  proveToken,
} from "./auth.ts";
export { DEFAULT_WIRE_LIMITS, type WireLimits } from "./limits.ts";
export {
  type CloseInfo,
  Connection,
  type ConnectionOptions,
  type ConnectionStats,
} from "./connection.ts";
export { BATCH_OP, type BatchHeader, BatchSender, sendHeaders, unbatch } from "./batch.ts";
export { listen, type Listener, type ListenOptions, refusalLogger } from "./listener.ts";
