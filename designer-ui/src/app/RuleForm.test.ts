import { describe, expect, it } from 'vitest';
import { newAction, parseValueText, valueText, withKind } from './RuleForm';

describe('rule form', () => {
  it('switching kind keeps the common keys and drops the other kind\'s', () => {
    const trigger = { format: 'weft.rule/1', api_name: 'r', object: 'deal', label: 'x', kind: 'trigger', on: ['create'], condition: 'true', actions: [] };
    const v = withKind(trigger, 'validation');
    expect(v).toEqual({ format: 'weft.rule/1', api_name: 'r', object: 'deal', label: 'x', kind: 'validation', condition: 'true', message: '' });
    const back = withKind(v, 'trigger');
    expect(back.on).toEqual(['create', 'update']);
    expect(back.actions).toEqual([]);
    expect('message' in back).toBe(false);
  });

  it('values: `=` marks an expression, JSON stays JSON, the rest is text', () => {
    expect(parseValueText('=record.amount * 2')).toEqual({ expr: 'record.amount * 2' });
    expect(parseValueText('42')).toBe(42);
    expect(parseValueText('true')).toBe(true);
    expect(parseValueText('open')).toBe('open');
    for (const v of [{ expr: 'now()' }, 'open', 42, { from: 'id' }]) expect(parseValueText(valueText(v))).toEqual(v);
  });

  it('new actions carry the keys the server requires', () => {
    expect(newAction('notify')).toMatchObject({ type: 'notify', title: '', body: '' });
    expect(newAction('create_record')).toMatchObject({ type: 'create_record', object: '', values: {} });
  });
});
