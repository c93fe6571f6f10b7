import { describe, expect, it } from 'vitest';
import { targetUrlProblem } from './target-url.js';

describe('targetUrlProblem', () => {
  it('accepts public https endpoints', () => {
    for (const url of [
      'https://hooks.example.com/leadflow',
      'https://203.0.113.7:8443/in?x=1',
      'https://[2001:db8::1]/h',
    ]) {
      expect(targetUrlProblem(url, false), url).toBeUndefined();
    }
  });

  it('refuses plain http, credentials, fragments and other schemes in production', () => {
    expect(targetUrlProblem('http://hooks.example.com/', false)).toBe('must use https');
    expect(targetUrlProblem('ftp://hooks.example.com/', false)).toBe('must use https');
    expect(targetUrlProblem('https://u:p@hooks.example.com/', false)).toBe('must not carry credentials');
    expect(targetUrlProblem('https://hooks.example.com/#x', false)).toBe('must not have a fragment');
    expect(targetUrlProblem('not a url', false)).toBe('is not an absolute URL');
  });

  it('refuses loopback, private, link-local and internal targets in production', () => {
    for (const url of [
      'https://localhost/',
      'https://api.localhost/',
      'https://db.internal/',
      'https://127.0.0.1/',
      'https://10.1.2.3/',
      'https://172.20.0.1/',
      'https://192.168.1.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[::1]/',
      'https://[fd00::1]/',
      'https://[fe80::1]/',
      'https://[::ffff:127.0.0.1]/',
    ]) {
      expect(targetUrlProblem(url, false), url).toBeDefined();
    }
    expect(targetUrlProblem('https://172.32.0.1/', false)).toBeUndefined();
  });

  it('allows local receivers when insecure targets are allowed (tests, demos)', () => {
    expect(targetUrlProblem('http://127.0.0.1:4000/hook', true)).toBeUndefined();
    expect(targetUrlProblem('http://u:p@127.0.0.1/', true)).toBe('must not carry credentials');
    expect(targetUrlProblem('file:///etc/passwd', true)).toBe('must use https');
  });
});
