import { useEffect, useState } from 'react';
import { listFolders } from './dashboard-api.ts';

/**
 * The folder a dashboard is saved or imported into: General or one of the org's own folders (provisioned
 * folders, uid `p-…`, hold only provisioned dashboards and are left out).
 */
export function FolderSelect(props: { org: string; value: string; onChange: (uid: string) => void; label: string }): React.JSX.Element {
  const [folders, setFolders] = useState<{ uid: string; title: string }[]>([]);
  useEffect(() => {
    void listFolders(props.org).then((f) => setFolders(f.filter((x) => !x.uid.startsWith('p-'))), () => undefined);
  }, [props.org]);
  return (
    <label>
      Folder
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)} aria-label={props.label}>
        <option value="">General</option>
        {folders.map((f) => (
          <option key={f.uid} value={f.uid}>
            {f.title}
          </option>
        ))}
      </select>
    </label>
  );
}
