/**
 * The interactive console on a real pseudo-terminal (tmux): tab
 * completion, Ctrl-C stopping a `run` but not the session, the heat map
 * fitting the window, history recalled and persisted across sessions, and
 * Ctrl-D asking before it aborts an active migration.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ROOT, XENMIG } from "./_support.ts";
import { tmuxAvailable, TmuxPane } from "./_tmux.ts";

const tmux = await tmuxAvailable();
if (tmux !== true) console.log(`SKIPPING the pseudo-terminal tests: ${tmux}`);

/** The last line of the screen. */
const lastLine = (screen: string) => screen.split("\n").at(-1) ?? "";

function replCommand(sim: string): string {
  return `'${Deno.execPath()}' run -A '${XENMIG}' repl --sim ${sim}`;
}

Deno.test({
  name:
    "repl on a terminal: completion, Ctrl-C stops 'run' only, bitmap fits, history, Ctrl-D asks",
  ignore: tmux !== true,
  async fn() {
    const state = await Deno.makeTempDir({ prefix: "xenmig-repl-state-" });
    try {
      {
        await using pane = await TmuxPane.start(replCommand("mem=64M,rate=20000,pattern=hot:5%"), {
          env: { XDG_STATE_HOME: state, NO_COLOR: "1" },
          width: 80,
          height: 24,
          cwd: ROOT,
        });
        await pane.waitFor((s) => /^xenmig \d+>$/.test(lastLine(s)), "the prompt");

        // Completion: an ambiguous prefix lists the candidates, one more letter completes.
        await pane.type("sta");
        await pane.waitFor((s) => lastLine(s).endsWith("> sta"), "the typed text");
        await pane.press("Tab");
        await pane.press("Tab");
        await pane.waitFor(/start\s+stats\s+status/, "the candidates");
        await pane.type("r");
        await pane.waitFor((s) => lastLine(s).endsWith("> star"), "'star'");
        await pane.press("Tab");
        await pane.waitFor((s) => lastLine(s).endsWith("> start"), "'start' completed");
        await pane.press("Enter");
        await pane.waitFor(/iter 0: sent \d+ pages/, "the first pass");
        await pane.waitFor((s) => lastLine(s).endsWith(":precopy>"), "the precopy prompt");

        // Argument completion: policy names.
        await pane.type("policy downt");
        await pane.waitFor((s) => lastLine(s).endsWith("policy downt"), "typed");
        await pane.press("Tab");
        await pane.waitFor((s) => lastLine(s).endsWith("policy downtime"), "'downtime' completed");
        await pane.press("C-u");
        await pane.type("policy false");
        await pane.press("Enter");
        await pane.waitFor(/policy set to user \(false\)/, "the user policy");

        // Ctrl-C interrupts a run that would never stop by itself...
        await pane.type("run");
        await pane.press("Enter");
        await pane.waitFor(/iter 5: sent/, "a few iterations");
        await pane.press("C-c");
        const stopped = await pane.waitFor(
          /iterations; stopped: interrupted \(Ctrl-C\)[\s\S]*:precopy>$/,
          "the run to stop",
        );
        assert.match(stopped, /\^C \(stopping after this iteration\)/);
        // ...and not the session.
        await pane.type("status");
        await pane.press("Enter");
        await pane.waitFor(/migration: phase precopy/, "status after Ctrl-C");
        // Ctrl-C at the prompt drops the typed line.
        await pane.type("garbage");
        await pane.press("C-c");
        await pane.waitFor(/\^C \('quit' or Ctrl-D leaves\)\n\S.*:precopy>$/, "a fresh prompt");

        // The heat map fits the 80x24 window.
        await pane.type("bitmap");
        await pane.press("Enter");
        await pane.waitFor(/pfns dirty \([\d.]+%\); each cell \d+ pfns/, "the heat map");
        const visible = await pane.visible();
        const legend = visible.findIndex((l) => /pfns dirty/.test(l));
        const mapRows = visible.slice(0, legend).filter((l) => /^ *0x[0-9a-f]+ [·░▒▓█]+$/.test(l));
        assert.ok(mapRows.length >= 10 && mapRows.length <= 20, `${mapRows.length} rows`);
        for (const row of mapRows) assert.ok(row.length <= 80, `row of ${row.length} columns`);
        assert.ok(mapRows[0].length >= 60, "uses the window's width");

        // History: Up recalls the last command.
        await pane.press("Up");
        await pane.waitFor((s) => lastLine(s).endsWith(":precopy> bitmap"), "history recall");
        await pane.press("C-u");

        // Ctrl-D during a migration asks; 'n' keeps the session.
        await pane.press("C-d");
        await pane.waitFor(/log-dirty on\)\. Abort\/resume and quit\? \[y\/N\]$/, "the question");
        await pane.type("n");
        await pane.press("Enter");
        await pane.waitFor(/not quitting\n\S.*:precopy>$/, "back at the prompt");
        await pane.press("C-d");
        await pane.waitFor(/Abort\/resume and quit\? \[y\/N\]$/, "the question again");
        await pane.type("y");
        await pane.press("Enter");
        const end = await pane.waitFor(/\[exit \d+\]/, "the exit");
        assert.match(
          end,
          /aborted the migration during precopy: log-dirty off, domain \d+ running/,
        );
        assert.match(end, /\[exit 0\]/);
      }
      const saved = (await Deno.readTextFile(`${state}/xenmig/repl_history`)).split("\n");
      for (const c of ["start", "policy false", "run", "status", "bitmap"]) {
        assert.ok(saved.includes(c), `history has '${c}': ${saved}`);
      }
      assert.ok(!saved.includes("garbage"), "a line dropped with Ctrl-C is not history");

      // A new session recalls the old one's history.
      await using again = await TmuxPane.start(replCommand("mem=64M"), {
        env: { XDG_STATE_HOME: state, NO_COLOR: "1" },
        cwd: ROOT,
      });
      await again.waitFor((s) => /^xenmig \d+>$/.test(lastLine(s)), "the prompt");
      await again.press("Up");
      await again.waitFor((s) => lastLine(s).endsWith("> bitmap"), "the persisted history");
      await again.press("C-u");
      await again.type("quit");
      await again.press("Enter");
      await again.waitFor(/\[exit 0\]/, "quit with nothing to clean up");
    } finally {
      await Deno.remove(state, { recursive: true });
    }
  },
});
