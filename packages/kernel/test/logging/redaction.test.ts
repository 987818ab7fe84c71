import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.ts';

function capture(redact: string[] = []) {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    redact,
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines };
}

describe('log redaction', () => {
  it('never writes secrets, at the top level or nested', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        password: 'hunter2',
        options: {
          sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
          token: 'eyJ.x.y',
        },
        request: { headers: { authorization: 'Bearer abc.def', cookie: 'session=1' } },
      },
      'connecting',
    );
    const text = lines.join('\n');
    for (const secret of ['hunter2', 'alice-secret', 'eyJ.x.y', 'Bearer abc.def', 'session=1']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
    expect(text).toContain('connecting');
  });

  it('redacts extra paths configured under telemetry.redact', () => {
    const { logger, lines } = capture(['customer.iban']);
    logger.info({ customer: { name: 'Ada', iban: 'DE89370400440532013000' } }, 'order');
    expect(lines.join('\n')).not.toContain('DE89370400440532013000');
    expect(lines.join('\n')).toContain('Ada');
  });
});
