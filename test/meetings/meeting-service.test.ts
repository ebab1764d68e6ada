import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { MeetingService } from '../../src/meetings/meeting-service.js';
import { MemoryStore } from '../../src/store/memory-store.js';

function service() {
  const store = new MemoryStore();
  return { store, meetings: new MeetingService(store, { sipDomain: 'sip.example.com', publicUrl: 'https://meet.example.com' }, pino({ level: 'silent' })) };
}

describe('MeetingService dial-in codes', () => {
  it('gives a numeric meeting id itself as dial-in code and finds the meeting by it', async () => {
    const { meetings } = service();
    const meeting = await meetings.create({ id: '4455667788' });
    expect(meeting.dialInCode).toBe('4455667788');
    expect((await meetings.findByDialInCode('4455667788'))?.id).toBe('4455667788');
    expect(meetings.view(meeting).dialInCode).toBe('4455667788');
  });

  it('gives a meeting with a non-numeric id an eight-digit code of its own', async () => {
    const { meetings } = service();
    const meeting = await meetings.create({ id: 'team-sync' });
    expect(meeting.dialInCode).toMatch(/^[1-9]\d{7}$/);
    expect((await meetings.findByDialInCode(meeting.dialInCode ?? ''))?.id).toBe('team-sync');
  });

  it('finds no meeting for digits that are no dial-in code', async () => {
    const { meetings } = service();
    await meetings.create({ id: 'team-sync' });
    expect(await meetings.findByDialInCode('123')).toBeUndefined();
  });

  it('refuses a numeric id that is already another meeting\'s dial-in code, and creates nothing', async () => {
    const { meetings, store } = service();
    const other = await meetings.create({ id: 'team-sync' });
    const code = other.dialInCode ?? '';
    await expect(meetings.create({ id: code })).rejects.toMatchObject({ code: 'conflict', message: `"${code}" is already the dial-in code of another meeting` });
    expect(await store.getMeeting(code)).toBeUndefined();
    expect((await meetings.findByDialInCode(code))?.id).toBe('team-sync');
  });

  it('refuses a duplicate id without taking a second dial-in code', async () => {
    const { meetings, store } = service();
    await meetings.create({ id: 'team-sync' });
    await expect(meetings.create({ id: 'team-sync' })).rejects.toMatchObject({ code: 'conflict', message: 'meeting "team-sync" already exists' });
    expect(await store.listMeetingRoutes('dial-in-code')).toHaveLength(1);
  });
});
