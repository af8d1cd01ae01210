import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shortDuration } from '../../../src/core/duration.ts';

describe('shortDuration', () => {
  it('seconds, minutes, hours with minutes, days with hours; rounded down', () => {
    assert.deepEqual([0, 59, 60, 3599, 3600, 3900, 86399, 86400, 183600].map(shortDuration), ['0s', '59s', '1m', '59m', '1h00m', '1h05m', '23h59m', '1d00h', '2d03h']);
  });

  it('never "1h60m" (the idle column rounded the minutes up: 7190 s printed 1h60m)', () => {
    assert.equal(shortDuration(7190), '1h59m');
  });
});
