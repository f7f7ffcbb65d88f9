// passport-http-2legged-oauth ships no types: the part the tutorial uses, for the comparison test.
declare module 'passport-http-2legged-oauth' {
  import type { Strategy as PassportStrategy } from 'passport';

  /** `done(null, consumer, consumerSecret)`, or `done(null, false)` for an unknown key. */
  type ConsumerDone = (error: unknown, consumer?: object | false, consumerSecret?: string) => void;
  /** `done(null, true)` to accept the timestamp and nonce. */
  type ValidateDone = (error: unknown, valid?: boolean) => void;

  export const Strategy: new (
    consumer: (consumerKey: string, done: ConsumerDone) => void,
    validate: (timestamp: string, nonce: string, consumer: object, req: unknown, done: ValidateDone) => void,
  ) => PassportStrategy;
}
