import { createRoot } from 'react-dom/client';
import { Root } from './app/Root';
// antd's styles as one prebuilt stylesheet (zero-runtime mode, see Root): computing them in
// the browser took most of the first load's CPU time.
import 'antd/dist/antd.css';
import './styles.css';

createRoot(document.getElementById('root')!).render(<Root />);
