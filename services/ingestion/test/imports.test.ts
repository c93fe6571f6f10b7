import { request as httpRequest } from 'node:http';
import type { Envelope } from '@leadflow/contracts/envelope';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { ImportColumns } from '../src/domain/import-sheet.js';
import {
  createImportJobRepository,
  type ImportJobRepository,
} from '../src/repositories/import-job.repository.js';
import { startService, type RunningIngestion } from '../src/service.js';

const OEM = 'oem-imports';
const MAX_BYTES = 2 * 1024 * 1024;
let service: RunningIngestion;
let events: EventCollector;
let mongo: mongoose.Connection;
let jobs: ImportJobRepository;
let admin: Record<string, string>;
let manager: Record<string, string>;

interface JobBody {
  [key: string]: unknown;
  id: string;
  status: string;
  detail: string;
  encoding: string;
  format: string;
  failureReason?: string;
  counts: { accepted: number; duplicates: number; rejected: number; warnings: number };
  progress: { rowsProcessed: number; percent: number; bytes: number };
  errors: { path: string; message: string }[];
  items: { row: number; column: string; reason: string; level: string }[];
  next?: string;
}

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : (JSON.parse(text) as JobBody),
  };
}

async function upload(file: Buffer, filename: string, headers: Record<string, string>, query = '') {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file)]), filename);
  const response = await fetch(`${service.url}/v1/imports${query}`, { method: 'POST', headers, body: form });
  return { status: response.status, body: (await response.json()) as JobBody };
}

const finished = (id: string, headers = admin) =>
  waitFor(
    async () => {
      const job = await call('GET', `/v1/imports/${id}`, headers);
      return job.body!.status === 'completed' || job.body!.status === 'failed' ? job.body! : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );

const eventsOfJob = (jobId: string) =>
  events.events.filter((e: Envelope) => (e.data as { importJobId?: string }).importJobId === jobId);

async function xlsx(rows: (string | number | ExcelJS.CellValue)[][]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('线索');
  for (const row of rows) sheet.addRow(row);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** Sends a multipart upload of `bytes` bytes by hand; stops writing as soon as the server answers. */
function rawUpload(bytes: number, declareLength: boolean, headers: Record<string, string>) {
  return new Promise<{ status: number; sent: number; body: string }>((resolve, reject) => {
    const boundary = 'leadflowboundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.csv"\r\n` +
        'Content-Type: text/csv\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const url = new URL(`${service.url}/v1/imports?channelId=dealer-import`);
    const req = httpRequest(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        ...(declareLength ? { 'content-length': String(head.length + bytes + tail.length) } : {}),
      },
    });
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sent, body }));
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.write(head);
    const pump = () => {
      while (!answered && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end(tail);
    };
    pump();
  });
}

beforeAll(async () => {
  const infra = infraAddresses();
  const db = uniqueDb('ingestion_imports');
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVICE_PORT: '0',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: db,
    KAFKA_TOPIC_PREFIX: `${uniqueName('t')}.`,
    RELAY_INTERVAL_MS: '200',
    IMPORT_MAX_BYTES: String(MAX_BYTES),
    IMPORT_POLL_MS: '200',
    IMPORT_LEASE_MS: '2000',
    // Small chunks, so the tests cross several checkpoints.
    IMPORT_CHUNK_ROWS: '2',
  });
  service = await startService(config);
  events = await collectEvents({ brokers: infra.kafkaBrokers, topic: service.intakeTopic });
  mongo = await mongoose.createConnection(infra.mongoUrl, { dbName: db }).asPromise();
  jobs = createImportJobRepository(mongo);
  admin = await authHeaders({ roles: ['oem_admin'], oemId: OEM });
  manager = await authHeaders({ roles: ['dealer_manager'], oemId: OEM, dealerId: 'D042' });
  const past = Date.now() - 86_400_000;
  for (const channel of [
    { id: 'dealer-import', l1: 'dealer', l2: 'import', l3Name: 'Dealer Excel import' },
    {
      id: 'autoshow-old',
      l1: 'oem',
      l2: 'auto_show',
      l3Name: 'Old show',
      validTo: new Date(past).toISOString(),
    },
  ]) {
    expect((await call('POST', '/v1/channels', admin, channel)).status).toBe(201);
  }
});

afterAll(async () => {
  await events?.stop();
  await mongo?.close();
  await service?.close();
});

describe('GET /v1/imports/template', () => {
  it.each(['zh', 'en'] as const)('serves the .xlsx template with %s headers', async (lang) => {
    const response = await fetch(`${service.url}/v1/imports/template?lang=${lang}`, { headers: admin });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/spreadsheetml/);
    expect(response.headers.get('content-disposition')).toMatch(/attachment/);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await response.arrayBuffer());
    const header = (workbook.worksheets[0]!.getRow(1).values as string[]).slice(1);
    expect(header).toEqual(ImportColumns.map((c) => c[lang]));
    expect(workbook.worksheets).toHaveLength(2);
  });

  it('is refused without credentials and for an unknown language', async () => {
    expect((await fetch(`${service.url}/v1/imports/template`)).status).toBe(401);
    expect((await fetch(`${service.url}/v1/imports/template?lang=fr`, { headers: admin })).status).toBe(400);
  });
});

describe('POST /v1/imports', () => {
  it('imports an .xlsx with partial acceptance, inert formulas and a per-row report', async () => {
    const file = await xlsx([
      ['客户姓名', '手机号码', '性别', '意向车型', '是否试驾', '外部编号'],
      ['张三', '13812345678', '男', 'Forester', '是', 'X-1'],
      ['无联系方式', '', '女', 'XV', '否', 'X-2'],
      [{ formula: 'CMD("calc")', result: 0 }, '13812345679', '', '', '', 'X-3'],
      [],
      ['=HYPERLINK("http://evil")', '+86 138 1234 5670', '', '', 'maybe', 'X-4'],
      ['李四', 13900001111, '', '', '', 'X-5'],
    ]);
    const queued = await upload(file, '经销商线索.xlsx', admin, '?channelId=dealer-import');
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    expect(queued.body).toMatchObject({ status: 'queued', format: 'xlsx' });

    const job = await finished(queued.body.id);
    expect(job).toMatchObject({
      status: 'completed',
      counts: { accepted: 3, rejected: 2, duplicates: 0, warnings: 2 },
      progress: { rowsProcessed: 5, percent: 100 },
    });
    const report = await call('GET', `/v1/imports/${job.id}/report`, admin);
    expect(report.body!.items).toEqual([
      {
        row: 3,
        column: '手机号码',
        reason: expect.stringMatching(/needs a mobile/) as string,
        level: 'error',
      },
      { row: 4, column: '客户姓名', reason: 'formula-like content stored as inert text', level: 'warning' },
      { row: 6, column: '客户姓名', reason: 'formula-like content stored as inert text', level: 'warning' },
      { row: 6, column: '是否试驾', reason: expect.any(String) as string, level: 'error' },
    ]);
    const errorsOnly = await call('GET', `/v1/imports/${job.id}/report?level=error&limit=1`, admin);
    expect(errorsOnly.body!.items.map((i) => i.row)).toEqual([3]);
    const page2 = await call(
      'GET',
      `/v1/imports/${job.id}/report?level=error&after=${errorsOnly.body!.next}`,
      admin,
    );
    expect(page2.body!.items.map((i) => i.row)).toEqual([6]);

    await waitFor(() => eventsOfJob(job.id).length === 3 || undefined, { timeoutMs: 20_000 });
    const byExternal = new Map(
      eventsOfJob(job.id).map((e) => [(e.data as { externalId: string }).externalId, e.data]),
    );
    expect(byExternal.get('X-1')).toMatchObject({
      customer: { name: '张三', mobile: '13812345678', gender: 'male' },
      intent: { model: 'Forester', testDrive: true },
      channel: { l1: 'dealer', l2: 'import', l3: 'dealer-import' },
    });
    expect(byExternal.get('X-3')).toMatchObject({ customer: { name: `'=CMD("calc")` } });
    expect(byExternal.get('X-5')).toMatchObject({ customer: { mobile: '13900001111' } });

    // Re-importing the same file: every row is the lead it already is.
    const again = await upload(file, 'again.xlsx', admin, '?channelId=dealer-import');
    expect(await finished(again.body.id)).toMatchObject({
      counts: { accepted: 0, duplicates: 3, rejected: 2 },
    });
  });

  it('decodes a GBK CSV saved by Chinese Excel, English headers too', async () => {
    const csv =
      '客户姓名,手机号码,城市,备注\r\n王小明,13711112222,广州,"想要白色, 周末看车"\r\n陈静,13711113333,深圳,\r\n';
    const queued = await upload(iconv.encode(csv, 'gbk'), 'leads.csv', admin, '?channelId=dealer-import');
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    expect(queued.body.encoding).toBe('gb18030');
    expect(await finished(queued.body.id)).toMatchObject({ status: 'completed', counts: { accepted: 2 } });
    await waitFor(() => eventsOfJob(queued.body.id).length === 2 || undefined, { timeoutMs: 20_000 });
    expect(eventsOfJob(queued.body.id).map((e) => e.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          customer: { name: '王小明', mobile: '13711112222', city: '广州' },
          intent: { message: '想要白色, 周末看车' },
        }),
      ]),
    );

    const english = '\uFEFFCustomer name,Mobile,Channel ID\nAmy,13711114444,dealer-import\n';
    const en = await upload(Buffer.from(english), 'en.csv', manager);
    expect(en.status, JSON.stringify(en.body)).toBe(202);
    expect(en.body.encoding).toBe('utf8');
    expect(await finished(en.body.id, manager)).toMatchObject({ counts: { accepted: 1 } });
    // Dealer staff see their own dealer's jobs; another dealer does not.
    const other = await authHeaders({ roles: ['dealer_manager'], oemId: OEM, dealerId: 'D999' });
    expect((await call('GET', `/v1/imports/${en.body.id}`, other)).status).toBe(404);
    const mine = await call('GET', '/v1/imports', manager);
    expect((mine.body!.items as unknown as { id: string }[]).map((j) => j.id)).toEqual([en.body.id]);
  });

  it('answers wrong headers, unknown or expired channels and non-spreadsheets with a precise 4xx', async () => {
    const wrong = await upload(
      Buffer.from('姓名,电话号码,手机号码\n张三,1,2\n'),
      'x.csv',
      admin,
      '?channelId=dealer-import',
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([
      { path: '/file/header/A', message: 'unknown header "姓名"' },
      { path: '/file/header/B', message: 'unknown header "电话号码"' },
    ]);
    const dataFirst = await upload(
      Buffer.from('13812345678,张三\n'),
      'x.csv',
      admin,
      '?channelId=dealer-import',
    );
    expect(dataFirst.status).toBe(400);

    const ok = Buffer.from('手机号码\n13812345678\n');
    expect((await upload(ok, 'x.csv', admin)).status).toBe(400);
    expect((await upload(ok, 'x.csv', admin, '?channelId=nope')).status).toBe(422);
    const expired = await upload(ok, 'x.csv', admin, '?channelId=autoshow-old');
    expect(expired.status).toBe(422);
    expect(expired.body.detail).toMatch(/expired/);
    expect((await upload(ok, 'x.csv', admin, '?sourceId=nope&channelId=dealer-import')).status).toBe(422);

    const legacy = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    const xls = await upload(legacy, '模板.xls', admin, '?channelId=dealer-import');
    expect(xls.status).toBe(415);
    expect(xls.body.detail).toMatch(/legacy \.xls/);
    expect(
      (await upload(Buffer.from('PK\u0003\u0004garbage'), 'x.xlsx', admin, '?channelId=dealer-import'))
        .status,
    ).toBe(400);
    const json = await call('POST', '/v1/imports?channelId=dealer-import', admin, { rows: [] });
    expect(json.status).toBe(415);
    const operator = await authHeaders({ roles: ['oem_operator'], oemId: 'another-oem' });
    expect((await call('GET', `/v1/imports/${wrong.body.id ?? 'x'}`, operator)).status).toBe(404);
  });

  it('refuses a 100 MB upload with 413 before reading it, and a chunked one over the limit', async () => {
    const declared = await rawUpload(100 * 1024 * 1024, true, admin);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ type: 'payload_too_large' });
    // The answer came while almost all of the 100 MB was still unsent.
    expect(declared.sent).toBeLessThan(20 * 1024 * 1024);

    const chunked = await rawUpload(MAX_BYTES + 512 * 1024, false, admin);
    expect(chunked.status).toBe(413);
    const files = await mongo.collection('import_files.files').countDocuments({ filename: 'huge.csv' });
    expect(files).toBe(0);
  });
});

describe('import jobs across restarts', () => {
  it('resumes a job left by a crashed instance from its checkpoint, without doubling a lead', async () => {
    const csv =
      '手机号码,客户姓名,外部编号\n13600000001,A,R-1\n13600000002,B,R-2\n13600000003,C,R-3\n13600000004,D,R-4\n13600000005,E,R-5\n';
    const queued = await upload(Buffer.from(csv), 'resume.csv', admin, '?channelId=dealer-import');
    const first = await finished(queued.body.id);
    expect(first.counts.accepted).toBe(5);
    await waitFor(() => eventsOfJob(first.id).length === 5 || undefined, { timeoutMs: 20_000 });

    // Rewind it to "crashed after the chunk of rows 2-3 was submitted, before its checkpoint": the
    // instance died holding the lease; the file is back in GridFS.
    const stored = jobs.openUpload(first.id, 'resume.csv');
    await new Promise((resolve, reject) =>
      stored.on('finish', resolve).on('error', reject).end(Buffer.from(csv)),
    );
    await mongo.collection('import_jobs').updateOne(
      { _id: first.id as never },
      {
        $set: {
          status: 'running',
          owner: 'crashed-instance',
          lockedUntil: new Date(Date.now() - 1),
          cursorRow: 1,
          rowsProcessed: 0,
          accepted: 0,
          bytesRead: 0,
        },
        $unset: { finishedAt: '' },
      },
    );
    const resumed = await finished(first.id);
    expect(resumed).toMatchObject({ status: 'completed', counts: { accepted: 5, duplicates: 0 } });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(eventsOfJob(first.id)).toHaveLength(5);
  });

  it('fails a job whose file is gone, saying so, instead of losing it silently', async () => {
    const queued = await upload(
      Buffer.from('手机号码\n13500000001\n'),
      'gone.csv',
      admin,
      '?channelId=dealer-import',
    );
    await finished(queued.body.id);
    // Completed jobs drop their file: rewinding one without the file is a job whose upload was lost.
    await mongo
      .collection('import_jobs')
      .updateOne(
        { _id: queued.body.id as never },
        { $set: { status: 'queued', lockedUntil: new Date(0) }, $unset: { owner: '' } },
      );
    const job = await finished(queued.body.id);
    expect(job).toMatchObject({ status: 'failed', failureReason: 'the uploaded file is missing' });
  });
});
