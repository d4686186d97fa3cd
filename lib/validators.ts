// Argument validation shared by every entry point (connect, listen, pm,
// monitor, the CLI), with the codes node:net and Node's own validators use
// for the same mistakes: ERR_INVALID_ARG_TYPE for a wrong type,
// ERR_OUT_OF_RANGE for a number outside its range, ERR_INVALID_ARG_VALUE for
// a value of the right type that is not allowed, ERR_SOCKET_BAD_PORT and
// ERR_INVALID_IP_ADDRESS as net reports them.
import * as net from 'node:net';
import { errInvalidArgType, errInvalidArgValue, errInvalidIpAddress, errOutOfRange, errSocketBadPort } from './errors';

/** A plain object (not null, not an array), else ERR_INVALID_ARG_TYPE. */
export function validateObject(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw errInvalidArgType(name, ['Object'], value);
  return value as Record<string, unknown>;
}

/** An integer number in [min, max]: ERR_INVALID_ARG_TYPE if not a number, ERR_OUT_OF_RANGE otherwise. */
export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw errInvalidArgType(name, ['number'], value);
  if (!Number.isInteger(value) || value < min || value > max) throw errOutOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  return value;
}

/** A 32-bit unsigned integer, such as a connection's token. */
export function validateUint32(value: unknown, name: string): number {
  return validateInteger(value, name, 0, 0xffffffff);
}

/**
 * net's validatePort: a number or a non-blank numeric string, an integer in
 * [0, 65535] (or [1, 65535] without `allowZero`), else ERR_SOCKET_BAD_PORT.
 */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if ((typeof port !== 'number' && typeof port !== 'string') ||
      (typeof port === 'string' && port.trim().length === 0) ||
      +port !== (+port >>> 0) || +port > 0xffff || (+port === 0 && !allowZero)) {
    throw errSocketBadPort(name, port, allowZero);
  }
  return +port | 0;
}

/** A port given as a number only (the path manager's attributes), else ERR_SOCKET_BAD_PORT. */
export function validatePortNumber(port: unknown, name: string, allowZero = true): number {
  if (typeof port !== 'number') throw errSocketBadPort(name, port, allowZero);
  return validatePort(port, name, allowZero);
}

/** One of `allowed`, else ERR_INVALID_ARG_VALUE listing them. */
export function validateOneOf<T>(value: unknown, name: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw errInvalidArgValue(name, value, `must be one of: ${allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(', ')}`);
  }
  return value as T;
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw errInvalidArgType(name, ['boolean'], value);
  return value;
}

export function validateString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw errInvalidArgType(name, ['string'], value);
  return value;
}

export function validateFunction<F extends (...a: never[]) => unknown>(value: unknown, name: string): F {
  if (typeof value !== 'function') throw errInvalidArgType(name, ['function'], value);
  return value as F;
}

/** An IP literal (string): its family, else ERR_INVALID_ARG_TYPE / ERR_INVALID_IP_ADDRESS. */
export function validateIp(value: unknown, name: string): 4 | 6 {
  const address = validateString(value, name);
  const family = net.isIP(address);
  if (family === 0) throw errInvalidIpAddress(address);
  return family as 4 | 6;
}
