import { formatLocal } from '../time/time-range.ts';
import type { QueryData } from '../datasource/prometheus.ts';
import { toTable } from './result-frames.ts';

/** The table view: a row per series with its labels, value and the time of that value. */
export function ResultTable(props: { data: QueryData }): React.JSX.Element {
  const { columns, rows } = toTable(props.data);
  if (rows.length === 0) return <div className="empty">No data</div>;
  return (
    <div className="table-wrap">
      <table className="result-table" data-testid="result-table">
        <thead>
          <tr>
            <th>Time</th>
            {columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
            <th className="num">Value</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td className="time">{formatLocal(r.timeS * 1000)}</td>
              {columns.map((c) => (
                <td key={c} data-column={c}>
                  {r.labels[c] ?? ''}
                </td>
              ))}
              <td className="num" data-column="Value">
                {r.value}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
