import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

/**
 * Calls `onChange` (debounced) when the file changes. Watches the directory, not the file, because
 * editors save by writing a new file and renaming it over the old one, which ends a watch on the file.
 */
export function watchFile(path: string, onChange: () => void, debounceMs = 100): () => void {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(path), (_event, file) => {
    if (file !== null && file !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  watcher.on("error", () => undefined);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
