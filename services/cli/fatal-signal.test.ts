import { describe, expect, it } from 'vitest';
import { FatalSignal } from './fatal-signal.js';

describe('FatalSignal', () => {
  it('tells a listener registered after the reason came (a failure during start-up)', async () => {
    const signal = new FatalSignal();
    signal.raise('ingest could not start: boom');
    const heard: string[] = [];
    signal.listen((reason) => heard.push(reason));
    await Promise.resolve();
    expect(heard).toEqual(['ingest could not start: boom']);
  });

  it('tells every listener of a later reason, once', () => {
    const signal = new FatalSignal();
    const heard: string[] = [];
    signal.listen((reason) => heard.push(`a:${reason}`));
    signal.listen((reason) => heard.push(`b:${reason}`));
    signal.raise('x');
    expect(heard).toEqual(['a:x', 'b:x']);
  });
});
