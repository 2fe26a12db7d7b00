/**
 * `attach` and `detach`: choosing the domain (and opening the destination
 * for its migration), and letting go of it.
 *
 * @module
 */

import { atMost, parseWhole } from "../arguments.ts";
import type { ReplCommand } from "../command.ts";
import { ReplError, reply } from "../reply.ts";

/** `attach [DOMID]`. */
export const attachCommand: ReplCommand = {
  name: "attach",
  usage: "attach [DOMID]",
  summary: "Attach a domain (default: the current one) and open the destination",
  details: "Prepares a new live migration of DOMID to the --to destination (opened now;\n" +
    "nothing is sent until 'start').  Also begins another migration after 'finish' or\n" +
    "'abort'.  Refused while a migration is active or the guest is held paused.",
  complete: (session, before) =>
    before.length
      ? []
      : session.hv.domains().filter((d) => d.domid !== 0).map((d) => String(d.domid)),
  async run(session, args) {
    atMost(args, 1, "attach", this.usage);
    const domid = args.length
      ? parseWhole(args[0], "attach", "DOMID", { min: 0, max: 0x7fef })
      : session.domid ?? session.simDomid;
    if (domid === undefined) throw new ReplError("attach: which domain? give a DOMID");
    const text = await session.attach(domid);
    const m = session.migration!;
    return reply(text, {
      domid,
      destination: m.destination,
      protocol: m.protocol,
      policy: session.policy.name,
    });
  },
};

/** `detach`. */
export const detachCommand: ReplCommand = {
  name: "detach",
  usage: "detach",
  summary: "Let go of the domain (refused during a migration or while it is held paused)",
  details: "Releases the destination of a migration never started.",
  async run(session, args) {
    atMost(args, 0, "detach", this.usage);
    const m = session.migration;
    if (session.domid === undefined) throw new ReplError("detach: no domain attached");
    if (m?.active) {
      throw new ReplError(
        `detach: a migration is in progress (phase ${m.engine.phase}): 'finish' or 'abort' it first`,
      );
    }
    if (m?.holdsPause) {
      throw new ReplError(
        `detach: domain ${m.domid} is paused since its stop-and-copy: 'unpause' it first`,
      );
    }
    if (session.userPauses > 0) {
      throw new ReplError(`detach: domain ${session.domid} is paused by 'pause': 'unpause' first`);
    }
    await m?.discard();
    const domid = session.domid;
    session.migration = undefined;
    session.domid = undefined;
    return reply(`detached from domain ${domid}`, { domid });
  },
};
