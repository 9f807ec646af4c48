import { Alert, Grid } from 'antd';
import { lbl } from '../lib/i18n';
import { match } from '../lib/router';

/** The phone page for a desktop path: the same form, or the mobile landing. */
export function mobilePathOf(path: string): string {
  let m: Record<string, string> | null;
  if ((m = match('/o/:object/new', path))) return `/m/o/${encodeURIComponent(m.object)}/new`;
  if ((m = match('/o/:object/:id/edit', path))) return `/m/o/${encodeURIComponent(m.object)}/${encodeURIComponent(m.id)}/edit`;
  return '/m';
}

/** On a narrow screen the desktop app offers its phone pages (`/m`). */
export function MobileHint({ path }: { path: string }) {
  const screens = Grid.useBreakpoint();
  if (screens.md !== false) return null;
  return (
    <Alert type="info" showIcon className="weft-mobile-hint" data-testid="mobile-hint"
      title={<a href={mobilePathOf(path)} data-testid="mobile-link">{lbl({ zh: '在手机上？打开移动版表单', en: 'On a phone? Open the mobile form' })}</a>} />
  );
}
