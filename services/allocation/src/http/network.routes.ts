import { DealerId, literalUnion } from '@leadflow/contracts/common';
import ExcelJS from 'exceljs';
import { requirePrincipal, requireRoles, scopeOf } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import {
  DealerSchema,
  DealerCalendarSchema,
  NetworkSchema,
  networkProblems,
  StaffSchema,
  TeamSchema,
} from '../domain/network.js';
import { parseCsv, rowsToNetwork, tableRows, type SheetRow } from '../domain/network-import.js';
import { RoutingPolicySchema } from '../domain/routing-policy.js';
import type { AllocationDeps } from '../use-cases/deps.js';
import { DealerViewerRoles, OemRoles } from './views.js';

const tags = ['network'];
/** Spreadsheets of a 500-dealer, 10,000-staff network stay well under this. */
const IMPORT_LIMIT = 20 * 1024 * 1024;

/** The file's rows: every sheet of a workbook, or the CSV as one sheet named `csv`. */
async function readSheetRows(format: 'csv' | 'xlsx', body: Buffer): Promise<SheetRow[]> {
  if (format === 'csv') return tableRows('csv', parseCsv(body.toString('utf8')));
  const workbook = new ExcelJS.Workbook();
  try {
    await workbook.xlsx.load(body as unknown as ArrayBuffer);
  } catch {
    throw new AppError('unprocessable', 'The file is not a readable xlsx workbook.');
  }
  const rows: SheetRow[] = [];
  workbook.eachSheet((sheet) => {
    const table: string[][] = [];
    sheet.eachRow({ includeEmpty: false }, (row) => {
      const cells: string[] = [];
      row.eachCell({ includeEmpty: true }, (cell, column) => {
        cells[column - 1] = cell.text;
      });
      table.push(Array.from(cells, (c) => c ?? ''));
    });
    rows.push(...tableRows(sheet.name, table));
  });
  return rows;
}
const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

const DealerView = Type.Composite(
  [Type.Omit(DealerSchema, ['calendar']), Type.Object({ calendar: DealerCalendarSchema })],
  {
    additionalProperties: false,
  },
);
const StaffView = Type.Composite([StaffSchema, Type.Object({ openLeads: Type.Integer({ minimum: 0 }) })], {
  additionalProperties: false,
});

/** The dealer network (dealers, teams, staff) and the OEM's routing policy. */
export function registerNetworkRoutes(app: HttpApp, deps: AllocationDeps): void {
  app.put(
    '/v1/network',
    {
      preHandler: requireRoles('oem_admin'),
      schema: {
        tags,
        summary: 'Upsert dealers, teams and staff of the caller’s OEM',
        description:
          'Bulk upsert by id; records not in the body are left unchanged (deactivate them with `active: false`). ' +
          'Teams and staff may reference dealers and teams stored earlier. Re-sending the same body is harmless.',
        body: NetworkSchema,
        response: {
          200: Type.Object({ dealers: Type.Integer(), teams: Type.Integer(), staff: Type.Integer() }),
          422: ProblemSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      const problems = networkProblems(request.body, await deps.network.existing(oemId));
      if (problems.length > 0) {
        throw new AppError('unprocessable', `${problems.length} problem(s) in the network.`, {
          errors: problems.slice(0, 100),
        });
      }
      await deps.network.upsert(oemId, request.body, deps.clock());
      return {
        dealers: request.body.dealers.length,
        teams: request.body.teams.length,
        staff: request.body.staff.length,
      };
    },
  );

  const spreadsheet = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  // Files arrive as the raw body; parsing them is the route's job (and its 422s).
  app.addContentTypeParser(
    ['text/csv', spreadsheet, 'application/octet-stream'],
    { parseAs: 'buffer', bodyLimit: IMPORT_LIMIT },
    (_req, body, done) => {
      done(null, body);
    },
  );

  app.post(
    '/v1/network/import',
    {
      preHandler: requireRoles('oem_admin'),
      bodyLimit: IMPORT_LIMIT,
      schema: {
        tags,
        summary: 'Import dealers, teams and staff from a spreadsheet (xlsx or CSV)',
        description:
          'The body is the file (`Content-Type: text/csv` or the xlsx type). xlsx: sheets `dealers`, `teams`, ' +
          '`staff`; CSV (or a single sheet): a `record` column saying dealer, team or staff. Columns are the ' +
          'fields of `PUT /v1/network` (lists separated by `|`, windows like `1-5 09:00-18:00; 6 10:00-16:00`, ' +
          'booleans true/false, 1/0, 是/否; plus `lat`, `lng`, `timeZone`, `workingHours`, `holidays`). Every ' +
          'problem is listed with its sheet, line and column (422) and nothing is stored; `dryRun=true` ' +
          'validates only. Then the same upsert as `PUT /v1/network`.',
        querystring: Type.Object({
          format: Type.Optional(
            literalUnion(['csv', 'xlsx'] as const, { description: 'Default: from Content-Type.' }),
          ),
          dryRun: Type.Boolean({ default: false }),
        }),
        response: {
          200: Type.Object({
            dealers: Type.Integer(),
            teams: Type.Integer(),
            staff: Type.Integer(),
            dryRun: Type.Boolean(),
          }),
          413: ProblemSchema,
          415: ProblemSchema,
          422: ProblemSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        throw new AppError('validation', 'Send the file as the body (text/csv or xlsx).');
      }
      const format =
        request.query.format ??
        (request.headers['content-type']?.startsWith('text/csv') === true ? 'csv' : 'xlsx');
      const rows = await readSheetRows(format, body);
      const { network, problems } = rowsToNetwork(rows);
      const all =
        problems.length > 0 ? problems : networkProblems(network, await deps.network.existing(oemId));
      if (all.length > 0) {
        throw new AppError('unprocessable', `${all.length} problem(s) in the file.`, {
          errors: all.slice(0, 200),
        });
      }
      if (!request.query.dryRun) await deps.network.upsert(oemId, network, deps.clock());
      return {
        dealers: network.dealers.length,
        teams: network.teams.length,
        staff: network.staff.length,
        dryRun: request.query.dryRun,
      };
    },
  );

  app.get(
    '/v1/dealers',
    {
      preHandler: requireRoles(...OemRoles, ...DealerViewerRoles),
      schema: {
        tags,
        summary: 'List dealers (OEM roles: the whole network; dealer roles: their own dealer)',
        querystring: Type.Object({
          page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
          pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(DealerView),
            total: Type.Integer(),
            page: Type.Integer(),
            pageSize: Type.Integer(),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const scope = scopeOf(requirePrincipal(request));
      const filter = { oemId: scope.oemId, ...(scope.dealerId === undefined ? {} : { id: scope.dealerId }) };
      const { page, pageSize } = request.query;
      const [items, total] = await Promise.all([
        deps.network.listDealers(filter, { skip: (page - 1) * pageSize, limit: pageSize }),
        deps.network.countDealers(filter),
      ]);
      return { items: items.map(({ oemId: _oem, ...dealer }) => dealer), total, page, pageSize };
    },
  );

  app.get(
    '/v1/dealers/:dealerId/staff',
    {
      preHandler: requireRoles(...OemRoles, ...DealerViewerRoles),
      schema: {
        tags,
        summary: 'A dealer’s teams and staff, with each person’s open leads',
        params: Type.Object({ dealerId: DealerId }),
        response: {
          200: Type.Object({ teams: Type.Array(TeamSchema), staff: Type.Array(StaffView) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const scope = scopeOf(requirePrincipal(request));
      const { dealerId } = request.params;
      // Another dealer's staff list does not exist for a dealer token.
      if (scope.dealerId !== undefined && scope.dealerId !== dealerId)
        throw new AppError('not_found', 'Dealer not found.');
      const dealer = await deps.network.findDealer(scope.oemId, dealerId);
      if (dealer === null) throw new AppError('not_found', 'Dealer not found.');
      const [teams, staff] = await Promise.all([
        deps.network.listTeams(scope.oemId, dealerId),
        deps.network.listStaff(scope.oemId, dealerId),
      ]);
      const loads = await deps.loads.agentLoads(
        scope.oemId,
        staff.map((s) => s.id),
      );
      return {
        teams: teams.map(({ oemId: _oem, ...team }) => team),
        staff: staff.map(({ oemId: _oem, ...person }) => ({
          ...person,
          openLeads: loads.get(person.id)?.open ?? 0,
        })),
      };
    },
  );

  app.get(
    '/v1/routing-policy',
    {
      preHandler: requireRoles(...OemRoles),
      schema: {
        tags,
        summary: 'The OEM’s routing policy (the default when none was stored; version 0)',
        response: { 200: Type.Object({ version: Type.Integer(), policy: RoutingPolicySchema }), ...errors },
      },
    },
    async (request) => deps.policies.get(requirePrincipal(request).oemId),
  );

  app.put(
    '/v1/routing-policy',
    {
      preHandler: requireRoles('oem_admin'),
      schema: {
        tags,
        summary: 'Replace the OEM’s routing policy',
        description:
          'Applies to allocations from now on; every assignment records the policy version it used.',
        body: RoutingPolicySchema,
        response: { 200: Type.Object({ version: Type.Integer(), policy: RoutingPolicySchema }), ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      return deps.policies.put(principal.oemId, request.body, principal.sub, deps.clock());
    },
  );
}
