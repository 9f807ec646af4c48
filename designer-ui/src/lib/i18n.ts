// Two languages, zh-CN first (Weft's users work in Chinese), English as the alternative.
import { useSyncExternalStore } from 'react';
import type { Label } from './types';

export type Lang = 'zh' | 'en';

const KEY = 'weft.lang';
let lang: Lang = (typeof localStorage !== 'undefined' && localStorage.getItem(KEY) === 'en') ? 'en' : 'zh';
const subs = new Set<() => void>();

export function setLang(l: Lang) {
  lang = l;
  try { localStorage.setItem(KEY, l); } catch { /* private mode */ }
  subs.forEach((f) => f());
}
export function getLang(): Lang { return lang; }
export function useLang(): Lang {
  return useSyncExternalStore((f) => { subs.add(f); return () => subs.delete(f); }, () => lang);
}

/**
 * A bilingual label in the current language, falling back to the other one, then to `fallback`.
 * Also takes a label as the API sends it where the document types it as open JSON (flow and node
 * names: `{zh, en}` or plain text).
 */
export function lbl(l: Label | unknown, fallback = ''): string {
  if (!l) return fallback;
  if (typeof l === 'string') return l.trim() || fallback;
  if (typeof l !== 'object') return fallback;
  const { zh, en } = l as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const [a, b] = lang === 'zh' ? [text(zh), text(en)] : [text(en), text(zh)];
  return a || b || fallback;
}

const dict = {
  appName: ['Weft', 'Weft'],
  login: ['登录', 'Sign in'],
  logout: ['退出登录', 'Sign out'],
  email: ['邮箱', 'Email'],
  password: ['密码', 'Password'],
  loginFailed: ['登录失败', 'Sign-in failed'],
  new: ['新建', 'New'],
  edit: ['编辑', 'Edit'],
  save: ['保存', 'Save'],
  cancel: ['取消', 'Cancel'],
  delete: ['删除', 'Delete'],
  confirmDelete: ['确定删除这条记录？', 'Delete this record?'],
  list: ['列表', 'List'],
  kanban: ['看板', 'Kanban'],
  calendar: ['日历', 'Calendar'],
  filter: ['筛选', 'Filter'],
  addCondition: ['添加条件', 'Add condition'],
  apply: ['应用', 'Apply'],
  clear: ['清除', 'Clear'],
  columns: ['显示列', 'Columns'],
  loadMore: ['加载更多', 'Load more'],
  total: ['共 {n} 条', '{n} records'],
  details: ['详细信息', 'Details'],
  system: ['系统信息', 'System'],
  related: ['相关列表', 'Related'],
  history: ['变更历史', 'History'],
  created: ['创建', 'Created'],
  updated: ['修改', 'Updated'],
  deleted: ['删除', 'Deleted'],
  restored: ['恢复', 'Restored'],
  saved: ['已保存', 'Saved'],
  fixErrors: ['请修正标出的字段', 'Please fix the marked fields'],
  groupBy: ['分组字段', 'Group by'],
  dateField: ['日期字段', 'Date field'],
  noSelect: ['此对象没有单选字段', 'This object has no single-select field'],
  noDate: ['此对象没有日期字段', 'This object has no date field'],
  empty: ['（空）', '(empty)'],
  designer: ['表单设计器', 'Form designer'],
  flowDesigner: ['审批流程', 'Approval flows'],
  apps: ['应用', 'Apps'],
  owner: ['负责人', 'Owner'],
  createdAt: ['创建时间', 'Created at'],
  updatedAt: ['更新时间', 'Updated at'],
  readOnly: ['只读', 'Read only'],
  notAllowed: ['无权限', 'Not allowed'],
  search: ['搜索', 'Search'],
  yes: ['是', 'Yes'],
  no: ['否', 'No'],
  moveFailed: ['无法移动', 'Could not move'],
  op_eq: ['等于', 'equals'],
  op_ne: ['不等于', 'not equal'],
  op_gt: ['大于', 'greater than'],
  op_gte: ['大于等于', 'at least'],
  op_lt: ['小于', 'less than'],
  op_lte: ['小于等于', 'at most'],
  op_contains: ['包含', 'contains'],
  op_starts_with: ['开头是', 'starts with'],
  op_in: ['属于', 'is any of'],
  op_is_null: ['为空', 'is empty'],
  op_not_null: ['不为空', 'is not empty'],
  ascending: ['升序', 'ascending'],
  descending: ['降序', 'descending'],
  sortBy: ['排序', 'Sort'],
  viewAll: ['全部', 'All'],
  viewSaveAs: ['另存为视图', 'Save as view'],
  viewSave: ['保存视图', 'Save view'],
  viewRename: ['重命名', 'Rename'],
  viewDelete: ['删除视图', 'Delete view'],
  viewSetDefault: ['设为默认视图', 'Make default'],
  viewUnsetDefault: ['取消默认视图', 'Stop using as default'],
  viewName: ['视图名称', 'View name'],
  viewShared: ['共享给所有人', 'Share with everyone'],
  viewMine: ['我的视图', 'My views'],
  viewSharedGroup: ['共享视图', 'Shared views'],
  viewDefault: ['默认', 'default'],
  viewConfirmDelete: ['确定删除视图“{name}”？', 'Delete the view "{name}"?'],
  viewRestricted: ['此视图的部分条件或列涉及你无权查看的字段，已省略', 'Parts of this view use fields you cannot see; they are left out'],
  viewGone: ['视图不存在或已被删除', 'This view does not exist or was deleted'],
  language: ['English', '中文'],
} as const;

export type Key = keyof typeof dict;

export function t(k: Key, vars?: Record<string, string | number>): string {
  let s: string = dict[k][lang === 'zh' ? 0 : 1];
  if (vars) for (const [n, v] of Object.entries(vars)) s = s.replace(`{${n}}`, String(v));
  return s;
}
