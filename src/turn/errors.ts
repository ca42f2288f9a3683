/** Stable codes of the TURN core's own errors (not wire errors). */
export type TurnConfigErrorCode = 'ICEGATE_TURN_BAD_LIMIT' | 'ICEGATE_TURN_BAD_OPTION';

/** A bad option given to the TURN core. */
export class TurnConfigError extends Error {
  constructor(
    readonly code: TurnConfigErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TurnConfigError';
  }
}
