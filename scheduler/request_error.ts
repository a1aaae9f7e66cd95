/**
 * The error of a request the client got wrong (scheduler/requests.ts): answered with an error
 * reply, the connection stays, nothing is logged.
 *
 * @module
 */

/** A request the client got wrong: answered with an error, the connection stays. */
export class RequestError extends Error {
  override name = "RequestError";
}
