// Exit codes every `spillway` verb keeps, so scripts can branch on them (README "Operating it").
import * as grpc from '@grpc/grpc-js';

export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** Anything else: the command failed (an internal error, a config that does not validate). */
  Failed: 1,
  /** Bad command line: unknown verb or flag, missing or malformed argument. Nothing was sent. */
  Usage: 2,
  /** Spillway refused the request: unknown service, endpoint or node, a share it cannot take. */
  Refused: 3,
  /** Missing or wrong bearer token. */
  Unauthorized: 4,
  /** The admin port could not be reached (or did not answer in time). */
  Unreachable: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for a failed admin call. */
export function exitCodeFor(code: grpc.status): ExitCode {
  switch (code) {
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.NOT_FOUND:
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.OUT_OF_RANGE:
    case grpc.status.ALREADY_EXISTS:
      return ExitCode.Refused;
    case grpc.status.UNAUTHENTICATED:
    case grpc.status.PERMISSION_DENIED:
      return ExitCode.Unauthorized;
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return ExitCode.Unreachable;
    default:
      return ExitCode.Failed;
  }
}
