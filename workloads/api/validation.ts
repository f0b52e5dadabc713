// Pure parsing of what buyers send: the purchase body and the ticket id. Everything external is checked
// here, at the edge, so the rest of the front door works with typed, in-range values.
import { MAX_PRODUCT_ID, MAX_USER_ID, TICKET_PATTERN } from '../shared/names.js';
import { ApiError } from './errors.js';

/** Bodies above this are refused with 413 before parsing: a valid purchase body is under 200 bytes. */
export const MAX_BODY_BYTES = 1024;

/** Event names are Kubernetes object names (EVENT_NAME_PATTERN), at most 253 characters. */
const MAX_EVENT_LENGTH = 253;

export interface PurchaseRequest {
  event: string;
  productId: number;
  userId: number;
}

/** A parsed body: userId is optional now that the buyer token names the buyer. */
export type PurchaseBody = Omit<PurchaseRequest, 'userId'> & { userId?: number };

const invalid = (message: string): ApiError => new ApiError('invalid_request', message);

/** Parses and checks a POST /api/v1/seckill body; throws ApiError(400) with the first problem found. */
export function parsePurchaseBody(body: string): PurchaseBody {
  if (body.length === 0) throw invalid('request body is empty; send {"event", "productId"}');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw invalid('request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('request body must be a JSON object {"event", "productId"}');
  }
  const { event, productId, userId } = value as Record<string, unknown>;
  if (event === undefined) throw invalid('"event" is required');
  if (typeof event !== 'string') throw invalid('"event" must be a string');
  if (event.length === 0 || event.length > MAX_EVENT_LENGTH) {
    throw invalid(`"event" must have 1 to ${MAX_EVENT_LENGTH} characters`);
  }
  const parsed: PurchaseBody = { event, productId: integerField('productId', productId, MAX_PRODUCT_ID) };
  if (userId !== undefined) parsed.userId = integerField('userId', userId, MAX_USER_ID);
  return parsed;
}

/**
 * The purchase of a verified buyer: a body's userId must be the token's buyer (403 otherwise). Without a
 * verified buyer (AUTH_MODE=none) the body's userId is the buyer, and required.
 */
export function purchaseOf(body: PurchaseBody, buyer: number | undefined): PurchaseRequest {
  if (buyer === undefined) {
    if (body.userId === undefined) throw invalid('"userId" is required');
    return { event: body.event, productId: body.productId, userId: body.userId };
  }
  if (body.userId !== undefined && body.userId !== buyer) {
    throw new ApiError('forbidden', '"userId" is not the buyer of the token; leave it out or send your own');
  }
  return { event: body.event, productId: body.productId, userId: buyer };
}

function integerField(name: string, value: unknown, max: number): number {
  if (value === undefined) throw invalid(`"${name}" is required`);
  if (typeof value !== 'number') throw invalid(`"${name}" must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(`"${name}" must be an integer in [1, ${max}]`);
  }
  return value;
}

/** Checks the :ticket of GET /api/v1/tickets/:ticket (a ULID); throws ApiError(400). */
export function parseTicket(raw: string): string {
  if (!TICKET_PATTERN.test(raw)) {
    throw invalid('ticket must be a ULID: 26 characters of Crockford base32 (0-9, A-Z without I, L, O, U)');
  }
  return raw;
}
