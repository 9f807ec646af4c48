import { createContext, useContext } from 'react';
import type { FieldAccess, FieldDef, ObjectDef, ObjectPermissions, Session } from '../lib/types';

export interface AppState {
  session: Session;
  objects: Record<string, ObjectDef>;
  order: string[];
  reloadObjects: () => Promise<void>;
}

export const AppCtx = createContext<AppState | null>(null);

export function useApp(): AppState {
  const s = useContext(AppCtx);
  if (!s) throw new Error('AppCtx missing');
  return s;
}

const NONE: ObjectPermissions = { create: false, read: false, update: false, delete: false, export: false, import: false, scope: null, fields: {} };

const ALL: ObjectPermissions = { create: true, read: true, update: true, delete: true, export: true, import: true, scope: 'all', fields: {} };

export function permsOf(s: Session, object: string): ObjectPermissions {
  return s.permissions.objects[object] ?? (s.permissions.is_admin ? ALL : NONE);
}

/** Field access as the server reports it; fields it does not list (new ones) are editable only for admins. */
export function accessOf(p: ObjectPermissions, f: FieldDef, isAdmin: boolean): FieldAccess {
  return p.fields[f.api_name] ?? (isAdmin ? 'edit' : 'hidden');
}
