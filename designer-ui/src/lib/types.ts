// Shapes of the Weft REST API (see crates/api/openapi.json). Where the document gives a shape
// (schema.d.ts) these are the generated types; object and field definitions and records are open
// documents there (`additionalProperties`), so their structure is spelled out here. Type aliases,
// not interfaces, so they are assignable to the document's open `{[key: string]: unknown}` bodies.
import type { Schemas } from './api/client';

export interface Label { zh?: string; en?: string }

export interface SelectOption { value: string; label?: Label; color?: string }

export type FieldType =
  | 'text' | 'long_text' | 'rich_text' | 'integer' | 'decimal' | 'currency' | 'percent'
  | 'boolean' | 'date' | 'datetime' | 'time' | 'single_select' | 'multi_select' | 'email'
  | 'phone' | 'url' | 'address' | 'lookup' | 'master_detail' | 'multi_lookup' | 'user'
  | 'department' | 'auto_number' | 'attachment' | 'json';

export type FieldDef = {
  id?: string;
  api_name: string;
  type: FieldType;
  label?: Label;
  description?: string;
  help?: Label;
  required?: boolean;
  unique?: boolean;
  indexed?: boolean;
  default?: unknown;
  deleted_at?: string;
  locked_by_job?: string;
  // type-specific options
  max_length?: number;
  min_length?: number;
  pattern?: string;
  min?: number | string;
  max?: number | string;
  precision?: number;
  scale?: number;
  default_currency?: string;
  options?: SelectOption[];
  max_selected?: number;
  cn_mobile?: boolean;
  target?: string;
  on_delete?: string;
  max_items?: number;
  start?: number;
  max_files?: number;
  max_file_size?: number;
  accept?: string[];
  max_bytes?: number;
};

export type ObjectDef = {
  schema?: string;
  id?: string;
  api_name: string;
  label?: Label;
  plural_label?: Label;
  description?: string;
  name_field?: string;
  fields: FieldDef[];
  /** Form layout: sections in order; live fields no section names follow the last one. */
  layout?: FormLayout | null;
  version?: number;
};

export type FormSection = {
  key: string;
  label?: Label;
  /** Columns on a wide screen (1–4); a phone shows one. */
  columns?: number;
  collapsed?: boolean;
  fields: string[];
  /** Shown only while the form's values match (the list filter language). */
  visible_when?: Filter | null;
};

export type FormLayout = { sections: FormSection[]; visible_when?: Record<string, Filter> };

export type FieldAccess = Schemas['FieldRight'];

export type ObjectPermissions = Schemas['ObjectRights'];

export type Session = Schemas['SessionView'];

export type RecordData = Record<string, unknown> & { id: string; version: number };

/** `Schemas['RecordPage']` with its records as RecordData. */
export type RecordPage = Omit<Schemas['RecordPage'], 'records'> & { records: RecordData[] };

export interface Problem { path: string; code: string; message: string }

export type Filter =
  | { and: Filter[] } | { or: Filter[] } | { not: Filter }
  | { field: string; op: string; value: unknown };
