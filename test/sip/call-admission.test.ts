import { describe, expect, it } from 'vitest';
import { type Admitted, CallAdmission, type CallAdmissionOptions } from '../../src/sip/call-admission.js';
import { capturedLogger } from '../support/log-capture.js';

const OPTIONS: CallAdmissionOptions = { maxSetupsInFlight: 2, maxMediaLoad: 0.75, retryAfterSeconds: 10 };

function admission(options: Partial<CallAdmissionOptions> = {}, load = 0, random = () => 0) {
  const captured = capturedLogger();
  const admission = new CallAdmission({ ...OPTIONS, ...options }, () => load, captured.log, random);
  return { admission, lines: captured.lines };
}

const admitted = (decision: ReturnType<CallAdmission['admit']>): Admitted => {
  if (!decision.admitted) throw new Error(`refused: ${decision.detail}`);
  return decision;
};

describe('CallAdmission', () => {
  it('lets set-ups in up to SIP_MAX_SETUPS_IN_FLIGHT, then refuses as overloaded until one is released', () => {
    const { admission: gate } = admission();
    const first = admitted(gate.admit());
    admitted(gate.admit());
    expect(gate.setupsInFlight).toBe(2);
    const refused = gate.admit();
    expect(refused).toMatchObject({ admitted: false, reason: 'overloaded', detail: 'overloaded: 2 call set-ups in flight (SIP_MAX_SETUPS_IN_FLIGHT 2)' });
    first.release();
    first.release(); // idempotent: released once
    expect(gate.setupsInFlight).toBe(1);
    admitted(gate.admit());
  });

  it.each([
    ['below the limit', 0.74, true],
    ['at the limit', 0.75, false],
    ['saturated', 1, false],
  ])('media load %s (%d): admitted %s', (_case, load, expected) => {
    const { admission: gate } = admission({}, load);
    const decision = gate.admit();
    expect(decision.admitted).toBe(expected);
    if (!decision.admitted) expect(decision.detail).toBe(`overloaded: media load ${Math.round(load * 100)}% (SIP_MAX_MEDIA_LOAD_PERCENT 75)`);
  });

  it('refuses everything once draining, whatever the load, and says so', () => {
    const { admission: gate } = admission();
    gate.drain();
    gate.drain();
    expect(gate.admit()).toMatchObject({ admitted: false, reason: 'draining', detail: 'draining: this gateway is shutting down; try again later' });
    expect(gate.setupsInFlight).toBe(0);
    expect(gate.problem()).toBe('draining');
  });

  it.each([
    [0, 10],
    [0.5, 13],
    [0.999, 15],
  ])('randomises Retry-After between the base and half again (random %d → %d s)', (random, seconds) => {
    const { admission: gate } = admission({ maxSetupsInFlight: 1 }, 0, () => random);
    gate.admit();
    expect(gate.admit()).toMatchObject({ admitted: false, retryAfterSeconds: seconds });
  });

  it('counts refusals by reason', () => {
    const { admission: gate } = admission({ maxSetupsInFlight: 1 });
    gate.admit();
    gate.admit();
    gate.admit();
    gate.drain();
    gate.admit();
    expect(gate.state()).toEqual({ draining: true, setupsInFlight: 1, overload: '1 call set-ups in flight (SIP_MAX_SETUPS_IN_FLIGHT 1)', refused: { draining: 1, overloaded: 2 } });
  });

  it('reports overload for /readyz while it lasts, and logs when shedding starts and stops', () => {
    const { admission: gate, lines } = admission({ maxSetupsInFlight: 1 });
    expect(gate.problem()).toBeUndefined();
    const held = admitted(gate.admit());
    expect(gate.problem()).toBe('overloaded: 1 call set-ups in flight (SIP_MAX_SETUPS_IN_FLIGHT 1)');
    gate.admit();
    gate.admit();
    held.release();
    expect(gate.problem()).toBeUndefined();
    admitted(gate.admit());
    expect(lines().map((line) => line.msg)).toEqual(['overloaded: refusing new calls with 503', 'no longer overloaded: taking new calls']);
  });

  it('tells an OPTIONS probe 503 only while draining (not while overloaded), without counting it as a refused INVITE', () => {
    const { admission: gate } = admission({ maxSetupsInFlight: 1 }, 0, () => 0.99);
    admitted(gate.admit());
    expect(gate.admit()).toMatchObject({ admitted: false, reason: 'overloaded' });
    expect(gate.probeRefusal()).toBeUndefined();
    gate.drain();
    expect(gate.probeRefusal()).toEqual({ admitted: false, reason: 'draining', detail: 'draining: this gateway is shutting down; try again later', retryAfterSeconds: 15 });
    expect(gate.state().refused).toEqual({ draining: 0, overloaded: 1 });
  });
});
