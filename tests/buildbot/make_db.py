"""make_db.py - a small real Buildbot 4.3 database for the importer's tests.

Run with the Buildbot virtualenv's python:  python make_db.py MASTER_DIR BUILDS_PER_BUILDER [DB_URL]

DB_URL is Buildbot's `db_url` (default: sqlite:///state.sqlite in MASTER_DIR), such as
postgresql://postgres@127.0.0.1:5432/buildbot (Buildbot then needs psycopg2).

Creates MASTER_DIR (`buildbot create-master`, so the schema is Buildbot's own), then writes a
history through Buildbot's own DB API (changes, buildsets, build requests, builds with
properties, steps, logs compressed by Buildbot with raw, gz, bz2, lz4, zstd and br in turn), leaves the
newest build of the first builder running and one more change's build requests waiting, marks
its master alive (so that a master started on a copy serves the running build as running).
What the importer must reproduce is what Buildbot's REST API serves for the database
(tests/buildbot/rest.rs), not what this script believes it wrote.
"""

import os
import subprocess
import sys

BUILDERS = [("linux-gcc", ["linux"]), ("macos-clang", ["macos"]), ("windows-msvc", ["windows"])]
STEPS = ["git", "compile", "test"]
COMPRESSIONS = ["raw", "gz", "bz2", "lz4", "zstd", "br"]
START = 1735689600

MASTER_CFG = """
from buildbot.plugins import schedulers, steps, util, worker
c = BuildmasterConfig = {}
c['title'] = 'fixture'
c['buildbotNetUsageData'] = None
c['db'] = {'db_url': %r}
c['protocols'] = {'pb': {'port': 'tcp:0:interface=127.0.0.1'}}
c['workers'] = [worker.Worker('w1', 'pw'), worker.Worker('w2', 'pw')]
f = util.BuildFactory()
for name in %r:
    f.addStep(steps.ShellCommand(name=name, command=['true']))
c['builders'] = [util.BuilderConfig(name=n, workernames=['w1', 'w2'], factory=f, tags=t,
                                    description='the ' + n + ' builder') for n, t in %r]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=[n for n, _ in %r])]
""" % ("@@DB_URL@@", STEPS, BUILDERS, BUILDERS)


class ClockedReactor:
    def __init__(self, real):
        self._real = real
        self.now = None

    def seconds(self):
        return self.now if self.now is not None else self._real.seconds()

    def __getattr__(self, name):
        return getattr(self._real, name)


def log_text(builder, number, step, result):
    """A stdio log as Buildbot's StreamLog stores it: each line prefixed by its stream,
    h (header), o (stdout) or e (stderr)."""
    lines = [f"h$ {step} for {builder} #{number}", "h  in dir /work (timeout 1200 secs)"]
    lines += [f"o{step}: line {i} of {builder} build {number}: ok" for i in range(number % 7 + 3)]
    lines.append("ounicode: café ✓")
    if result == 2:
        lines.append(f"eerror: {step} failed: exit status 2")
    lines.append(f"hprogram finished with exit code {2 if result == 2 else 0}")
    return "\n".join(lines) + "\n"


async def add_change(db, k, t):
    """Change number k + 1, pushed at t; returns its source stamp."""
    from buildbot.util import epoch2datetime

    changeid = await db.changes.addChange(
        author=f"Dev {k % 3} <dev{k % 3}@example.org>", committer="ci <ci@example.org>",
        files=[f"src/file{k}.c", "README"], comments=f"Change {k + 1}: fix things",
        revision=f"{k:040x}", when_timestamp=epoch2datetime(t), branch="main" if k % 4 else "release",
        category=None, revlink=f"https://example.org/commit/{k:040x}",
        properties={"event": ("push", "Change")}, repository="https://example.org/widget.git",
        codebase="", project="widget")
    return (await db.changes.getChange(changeid)).sourcestampid


async def fill(master_dir, per_builder):
    from twisted.internet import reactor

    from buildbot.config.master import FileLoader
    from buildbot.master import BuildMaster
    from buildbot.util import epoch2datetime

    cfg = FileLoader(master_dir, "master.cfg").loadConfig()
    clock = ClockedReactor(reactor)
    master = BuildMaster(master_dir, reactor=clock)
    await master._services_d
    master.config = cfg
    db = master.db
    await db.setup(check_version=True, verbose=False)
    db.logs._compression_pool.start()
    try:
        clock.now = START
        masterid = await db.masters.findMasterId(name=master.name)
        master.masterid = masterid
        builderids = {}
        for name, tags in BUILDERS:
            bid = await db.builders.findBuilderId(name)
            await db.builders.updateBuilderInfo(bid, f"the {name} builder", None, None, None, tags)
            builderids[name] = bid
        workerids = {w: await db.workers.findWorkerId(w) for w in ("w1", "w2")}
        t = START
        logs_written = 0
        for k in range(per_builder):
            t += 600
            clock.now = t
            ssid = await add_change(db, k, t)
            bsid, brids = await db.buildsets.addBuildset(
                sourcestamps=[ssid], reason=f"change {k + 1} pushed", properties={"scheduler": ("all", "Scheduler")},
                builderids=list(builderids.values()), waited_for=False, submitted_at=epoch2datetime(t + 1))
            results_all = []
            for bi, (name, _) in enumerate(BUILDERS):
                bid = builderids[name]
                brid = brids[bid]
                started = t + 10 + bi
                clock.now = started
                await db.buildrequests.claimBuildRequests([brid], claimed_at=epoch2datetime(started))
                worker = "w1" if (k + bi) % 2 else "w2"
                buildid, number = await db.builds.addBuild(bid, brid, workerids[worker], masterid, "starting")
                for pname, value, source in [("buildername", name, "Builder"), ("buildnumber", number, "Build"),
                                             ("workername", worker, "Worker"), ("got_revision", f"{k:040x}", "Git"),
                                             ("branch", "main" if k % 4 else "release", "Build")]:
                    await db.builds.setBuildProperty(buildid, pname, value, source)
                running = bi == 0 and k == per_builder - 1
                result = 2 if (k + bi) % 5 == 3 else 0
                st = started
                for sn, sname in enumerate(STEPS):
                    if running and sn == 2:
                        break
                    clock.now = st
                    stepid, _, _ = await db.steps.addStep(buildid, sname, "pending")
                    await db.steps.startStep(stepid, st, True)
                    sres = result if sname == "test" else 0
                    logid = await db.logs.addLog(stepid, "stdio", "stdio", "s")
                    master.config.logCompressionMethod = COMPRESSIONS[logs_written % len(COMPRESSIONS)]
                    logs_written += 1
                    await db.logs.appendLog(logid, log_text(name, number, sname, sres))
                    await db.logs.finishLog(logid)
                    await db.logs.compressLog(logid)
                    await db.steps.setStepStateString(stepid, sname + (" (failure)" if sres == 2 else ""))
                    st += 30 + sn
                    clock.now = st
                    await db.steps.finishStep(stepid, sres, False)
                if running:
                    await db.builds.setBuildStateString(buildid, "building")
                    continue
                await db.builds.setBuildStateString(buildid, "failed test" if result == 2 else "build successful")
                clock.now = st + 1
                await db.builds.finishBuild(buildid, result)
                await db.buildrequests.completeBuildRequests([brid], result, complete_at=epoch2datetime(st + 1))
                results_all.append(result)
            if len(results_all) == len(BUILDERS):
                await db.buildsets.completeBuildset(bsid, max(results_all), complete_at=epoch2datetime(t + 500))
        # The newest change: its builds on the other two builders have not started, their
        # requests wait unclaimed.
        t += 600
        clock.now = t
        ssid = await add_change(db, per_builder, t)
        await db.buildsets.addBuildset(
            sourcestamps=[ssid], reason=f"change {per_builder + 1} pushed",
            properties={"scheduler": ("all", "Scheduler")},
            builderids=[builderids["macos-clang"], builderids["windows-msvc"]], waited_for=False,
            submitted_at=epoch2datetime(t + 1))
        # The master that wrote this history is alive (it is running a build): a master started
        # later on a copy of the database leaves that build alone, instead of finishing it as
        # RETRY the way Buildbot cleans up after a master that has been gone for 10 minutes.
        clock.now = None
        await db.masters.setMasterState(masterid, True)
    finally:
        db.logs._compression_pool.stop()
        await db.pool.stop()


def main():
    master_dir = os.path.abspath(sys.argv[1])
    per_builder = int(sys.argv[2])
    db_url = sys.argv[3] if len(sys.argv) > 3 else "sqlite:///state.sqlite"
    bb = os.path.join(os.path.dirname(sys.executable), "buildbot")
    subprocess.run([bb, "create-master", "-r", master_dir], check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(master_dir, "master.cfg"), "w") as fh:
        fh.write(MASTER_CFG.replace("'@@DB_URL@@'", repr(db_url)))
    subprocess.run([bb, "upgrade-master", "-q", master_dir], check=True, stdout=subprocess.DEVNULL)

    from twisted.internet import defer, reactor

    result = {}

    def start():
        d = defer.ensureDeferred(fill(master_dir, per_builder))
        d.addErrback(lambda f: result.setdefault("error", f))
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run()
    if "error" in result:
        print(result["error"].getTraceback(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
