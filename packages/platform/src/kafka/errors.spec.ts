import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  describeError,
  isDuplicateKeyError,
  NonRetriableError,
  RetriableError,
} from './errors.js';

describe('classifyError', () => {
  it('honours the explicit error types', () => {
    expect(classifyError(new NonRetriableError('schema violation'))).toBe('non-retriable');
    expect(classifyError(new RetriableError('dealer API timed out'))).toBe('retriable');
  });

  it('treats unknown errors and non-errors as retriable', () => {
    expect(classifyError(new Error('ECONNRESET'))).toBe('retriable');
    expect(classifyError('a string')).toBe('retriable');
    expect(classifyError(undefined)).toBe('retriable');
  });

  it('does not retry mongoose validation and cast errors', async () => {
    const Model = mongoose.model(
      'ClassifyProbe',
      new mongoose.Schema({ n: { type: Number, required: true } }),
    );
    const validation: unknown = await new Model({}).validate().catch((error: unknown) => error);
    expect(validation).toBeInstanceOf(mongoose.Error.ValidationError);
    expect(classifyError(validation)).toBe('non-retriable');
    const cast = new mongoose.Error.CastError('Number', 'abc', 'n');
    expect(classifyError(cast)).toBe('non-retriable');
  });

  it('recognises validation errors from another mongoose copy by name', () => {
    const foreign = new Error('validation failed');
    foreign.name = 'ValidationError';
    expect(classifyError(foreign)).toBe('non-retriable');
  });

  it('keeps the cause of wrapped errors', () => {
    const cause = new Error('root');
    expect(new NonRetriableError('wrapped', { cause }).cause).toBe(cause);
  });
});

describe('isDuplicateKeyError', () => {
  it('detects E11000 on single writes and inside bulk writes', () => {
    expect(isDuplicateKeyError(Object.assign(new Error('E11000 duplicate key'), { code: 11000 }))).toBe(true);
    expect(isDuplicateKeyError({ code: 11001 })).toBe(true);
    expect(isDuplicateKeyError({ writeErrors: [{ code: 121 }, { code: 11000 }] })).toBe(true);
  });

  it('is false for other errors', () => {
    expect(isDuplicateKeyError(Object.assign(new Error('not primary'), { code: 10107 }))).toBe(false);
    expect(isDuplicateKeyError({ writeErrors: [{ code: 121 }] })).toBe(false);
    expect(isDuplicateKeyError(new Error('x'))).toBe(false);
    expect(isDuplicateKeyError(null)).toBe(false);
  });
});

describe('describeError', () => {
  it('names the error class and truncates long messages for a header', () => {
    expect(describeError(new NonRetriableError('bad'))).toBe('NonRetriableError: bad');
    expect(describeError(new Error('x'.repeat(5_000))).length).toBeLessThanOrEqual(1_001);
  });
});
