/**
 * How a worker process ends, for supervisors (`LocalCluster`) to tell a crash from a stop:
 * 0 when told to stop (by the scheduler, or SIGINT/SIGTERM), 1 when it crashed (Deno's code for
 * an uncaught error), 2 on bad arguments, 3 when the scheduler refused it.
 *
 * @module
 */

/** The scheduler refused this worker (a name in use, another protocol version...). */
export const REFUSED_EXIT_CODE = 3;
