import { describe, it, expect } from 'vitest';
import { makeRequest } from '../../dns/request.js';
import { RCODE, TYPE } from '../../dns/constants.js';
import { emptyResponse, type DnsRequest, type DnsResponse } from '../../dns/message.js';
import type { SetupContext } from '../types.js';
import { template, TemplatePlugin } from './index.js';
import { parseRR } from './rr.js';
import { parseTemplate } from './gotemplate.js';
import { directiveOf, fakeContext } from '../testing.test-helper.js';

const lookups: string[] = [];
function ctx(zones = ['.']): SetupContext {
  return fakeContext({
    block: { zones },
    lookup: async (name: string, qtype: number) => {
      lookups.push(`${name}/${qtype}`);
      return { rcode: 0, answers: [{ name, type: 'A', class: 'IN', ttl: 60, data: '192.0.2.7' }], authorities: [], additionals: [] };
    },
  });
}

function setup(body: string, zones?: string[]): TemplatePlugin {
  const d = directiveOf(body, 'Corefile');
  return template.setup(d, ctx(zones)) as TemplatePlugin;
}

const nextMarker = emptyResponse(RCODE.REFUSED, 'next');
const next = () => nextMarker;

async function ask(p: TemplatePlugin, name: string, type: number, from?: Partial<DnsRequest>): Promise<DnsResponse> {
  return await p.handle(makeRequest(name, type, from), next);
}

describe('template', () => {
  it('answers NXDOMAIN for everything with rcode only', async () => {
    const p = setup('template ANY ANY {\n rcode NXDOMAIN\n}');
    const r = await ask(p, 'anything.test.', TYPE.A);
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(r.aa).toBe(true);
  });

  it('fills answers from named groups', async () => {
    const p = setup([
      'template IN A example {',
      '  match (^|[.])ip-(?P<a>[0-9]*)-(?P<b>[0-9]*)-(?P<c>[0-9]*)-(?P<d>[0-9]*)[.]example[.]$',
      '  answer "{{ .Name }} 60 IN A {{ .Group.a }}.{{ .Group.b }}.{{ .Group.c }}.{{ .Group.d }}"',
      '  fallthrough',
      '}',
    ].join('\n'));
    const r = await ask(p, 'IP-10-1-2-3.example.', TYPE.A);
    expect(r.answers).toEqual([{ name: 'ip-10-1-2-3.example.', type: 'A', class: 'IN', ttl: 60, data: '10.1.2.3' }]);
  });

  it('supports index .Match, parseInt, .Zone, .Class and .Type', async () => {
    const p = setup([
      'template IN TXT example {',
      '  match "^ip0a(?P<b>[a-f0-9]{2})[.]example[.]$"',
      '  answer "{{ .Name }} 60 IN TXT \\"{{ parseInt .Group.b 16 8 }} {{ index .Match 1 }} {{ .Zone }} {{ .Class }} {{ .Type }} {{ .Remote }}\\""',
      '}',
    ].join('\n'));
    const r = await ask(p, 'ip0a7b.example.', TYPE.TXT, { remoteAddress: '10.9.8.7' });
    expect(r.answers[0].data).toEqual(['123 7b example. IN TXT 10.9.8.7']);
  });

  it('builds SOA authority records with parenthesised fields', async () => {
    const p = setup('template ANY ANY invalid {\n rcode NXDOMAIN\n authority "invalid. 60 {{ .Class }} SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)"\n}');
    const r = await ask(p, 'foo.invalid.', TYPE.A);
    expect(r.rcode).toBe(RCODE.NXDOMAIN);
    expect(r.authorities[0]).toMatchObject({ name: 'invalid.', type: 'SOA', ttl: 60, data: { mname: 'ns.invalid.', serial: 1, minimum: 60 } });
  });

  it('passes queries outside its zones, classes or types to the next plugin', async () => {
    const p = setup('template IN A example {\n answer "{{ .Name }} 60 IN A 10.0.0.1"\n}');
    expect(await ask(p, 'other.test.', TYPE.A)).toBe(nextMarker);
    expect(await ask(p, 'a.example.', TYPE.AAAA)).toBe(nextMarker);
  });

  it('answers SERVFAIL when the zone matches but no regex does, unless it falls through', async () => {
    const strict = setup('template IN A example {\n match ^ok[.]\n answer "{{ .Name }} 60 IN A 10.0.0.1"\n}');
    expect((await ask(strict, 'nope.example.', TYPE.A)).rcode).toBe(RCODE.SERVFAIL);
    const fall = setup('template IN A example {\n match ^ok[.]\n answer "{{ .Name }} 60 IN A 10.0.0.1"\n fallthrough\n}');
    expect(await ask(fall, 'nope.example.', TYPE.A)).toBe(nextMarker);
  });

  it('resolves a fabricated CNAME target for address queries', async () => {
    const p = setup('template IN ANY foogle.com {\n match "^foogle\\.com\\.$"\n answer "foogle.com 60 IN CNAME google.com"\n}');
    const r = await ask(p, 'foogle.com.', TYPE.A);
    expect(r.answers.map((a) => a.type)).toEqual(['CNAME', 'A']);
    expect(lookups).toContain(`google.com./${TYPE.A}`);
  });

  it('answers SERVFAIL when the templated record does not parse', async () => {
    const p = setup('template IN A example {\n answer "{{ .Name }} 60 IN A not-an-ip"\n}');
    expect((await ask(p, 'a.example.', TYPE.A)).rcode).toBe(RCODE.SERVFAIL);
  });

  it('rejects unsupported template syntax and bad options at setup', () => {
    expect(() => setup('template IN A {\n answer "{{ if .Name }}x{{ end }}"\n}')).toThrow(/Corefile:3 .*not supported/);
    expect(() => setup('template IN A {\n answer "{{ .Message.Id }}"\n}')).toThrow(/\.Message is not supported/);
    expect(() => setup('template IN A {\n answer "{{ $x }}"\n}')).toThrow(/variables are not supported/);
    expect(() => setup('template IN A {\n match "(unclosed"\n answer "x 1 IN A 1.2.3.4"\n}')).toThrow(/could not parse regex/);
    expect(() => setup('template IN A')).toThrow(/no answer section/);
    expect(() => setup('template XX A {\n rcode NXDOMAIN\n}')).toThrow(/invalid query class/);
    expect(() => setup('template IN A {\n rcode NOPE\n}')).toThrow(/unknown rcode/);
    expect(() => setup('template IN A {\n bogus\n}')).toThrow(/unknown property/);
  });
});

describe('template records and text', () => {
  it('parses the record types templates produce', () => {
    expect(parseRR('a.example 60 IN MX 10 mail.example').data).toEqual({ preference: 10, exchange: 'mail.example.' });
    expect(parseRR('_x._tcp.example. IN 30 SRV 0 5 80 t.example.')).toMatchObject({ ttl: 30, data: { priority: 0, weight: 5, port: 80, target: 't.example.' } });
    expect(parseRR('example. NS ns1.example.')).toMatchObject({ ttl: 3600, class: 'IN', data: 'ns1.example.' });
    expect(parseRR('x. 5 IN AAAA 2001:db8::1').data).toBe('2001:db8::1');
    expect(parseRR('x. 5 IN TXT "a b" c').data).toEqual(['a b', 'c']);
    expect(() => parseRR('x. 5 IN HINFO a b')).toThrow();
  });

  it('trims whitespace around {{- -}} and drops comments', () => {
    const fields = new Set(['Name']);
    expect(parseTemplate('a  {{- .Name -}}  b{{/* note */}}', fields).execute({ Name: 'n' })).toBe('anb');
  });
});
