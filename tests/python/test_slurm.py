#!/usr/bin/python3
"""A Slurm job array explains a data set in shards (README, "Data sets"):
starts a private single-node Slurm (munged + slurmctld + slurmd, every file
and socket under a temporary folder, ports picked free), submits
`sbatch --array=0-3` whose task K runs
`gradcam explain --shard K/$SLURM_ARRAY_TASK_COUNT`, waits (bounded), merges
the four outputs with `gradcam merge`, and compares with one process
explaining everything. The daemons are stopped by their pid files in every
case.

Needs root (munged runs as the munge user, slurmd as root) and Debian's
slurm-wlm and munge (scripts/install-deps.sh --test). Without them the test
FAILS, saying what is missing: it never passes by skipping.

Usage: test_slurm.py --gradcam BIN --source DIR"""
import argparse, json, os, pwd, shutil, signal, socket, subprocess, sys, tempfile, time

from clitest import check, finish, run

WAIT_S = 240  # for the daemons to answer, and for the array to finish


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, fn, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if fn():
            return True
        time.sleep(0.3)
    print("timed out after %d s waiting for %s" % (timeout, what), flush=True)
    return False


def stop(pidfile):
    try:
        pid = int(open(pidfile).read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_cluster(tmp):
    """Returns (env, pidfiles) or raises RuntimeError saying why not."""
    for tool in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"):
        if not shutil.which(tool):
            raise RuntimeError("%s not found: install slurm-wlm and munge "
                               "(scripts/install-deps.sh --test)" % tool)
    if os.geteuid() != 0:
        raise RuntimeError("needs root: slurmd and munged start as root / munge here")
    munge_user = pwd.getpwnam("munge")
    mdir = os.path.join(tmp, "munge")
    os.makedirs(mdir)
    key = os.path.join(mdir, "munge.key")
    with open(key, "wb") as f:
        f.write(os.urandom(1024))
    os.chmod(key, 0o400)
    for p in (mdir, key):
        os.chown(p, munge_user.pw_uid, munge_user.pw_gid)
    os.chmod(mdir, 0o755)  # the socket must be reachable by every client
    sock = os.path.join(mdir, "munge.socket")
    pidfiles = [os.path.join(mdir, "munged.pid")]
    r = subprocess.run(["runuser", "-u", "munge", "--", "munged", "--key-file", key,
                        "--socket", sock, "--pid-file", pidfiles[0],
                        "--log-file", os.path.join(mdir, "munged.log"),
                        "--seed-file", os.path.join(mdir, "munged.seed")],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("munged did not start: " + (r.stderr or r.stdout).strip())
    host = socket.gethostname().split(".")[0]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    s = os.path.join(tmp, "slurm")
    for d in ("state", "spool"):
        os.makedirs(os.path.join(s, d))
    conf = os.path.join(s, "slurm.conf")
    pidfiles += [os.path.join(s, "slurmctld.pid"), os.path.join(s, "slurmd.pid")]
    with open(conf, "w") as f:
        f.write("""ClusterName=gctest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
SlurmctldPort={p1}
SlurmdPort={p2}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
StateSaveLocation={s}/state
SlurmdSpoolDir={s}/spool
SlurmctldPidFile={s}/slurmctld.pid
SlurmdPidFile={s}/slurmd.pid
SlurmctldLogFile={s}/slurmctld.log
SlurmdLogFile={s}/slurmd.log
NodeName={host} CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=gctest Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""".format(host=host, sock=sock, p1=free_port(), p2=free_port(), s=s,
           cpus=os.cpu_count(), mem=max(mem - 512, 256)))
    env = dict(os.environ, SLURM_CONF=conf)
    for daemon in ("slurmctld", "slurmd"):
        r = subprocess.run([daemon, "-f", conf], env=env, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s did not start: %s" % (daemon, (r.stderr or r.stdout).strip()))
    def idle():
        r = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                           text=True, timeout=20)
        return r.returncode == 0 and r.stdout.strip() in ("idle", "mix", "alloc")
    if not wait_for("the node to be idle", idle, 60):
        raise RuntimeError("the node never became idle; sinfo says: %s; slurmctld log tail: %s"
                           % (subprocess.run(["sinfo"], env=env, capture_output=True,
                                             text=True).stdout.strip(),
                              open(os.path.join(s, "slurmctld.log")).read()[-600:]))
    return env, pidfiles


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradcam", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="gc_slurm_")
    os.chmod(tmp, 0o755)  # munged, as the munge user, reaches its folder
    gradcam = os.path.abspath(a.gradcam)
    model = os.path.join(a.source, "models", "shapes.pth")
    sys.path.insert(0, os.path.join(a.source, "demo"))
    import scenes
    from PIL import Image
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    with open(os.path.join(data, "manifest.csv"), "w") as f:
        f.write("path,target,box\n")
        for i in range(14):
            img, objs = scenes.make_scene(scenes.scene_seed(6, 100 + i), 1)
            Image.fromarray(img).save(os.path.join(data, "s%02d.png" % i))
            f.write('s%02d.png,%s,"%s"\n' % (i, objs[0]["name"],
                                             ",".join(map(str, objs[0]["box"]))))
    manifest = os.path.join(data, "manifest.csv")
    single = os.path.join(tmp, "single")
    rc, so, se = run([gradcam, "explain", "--model", model, "--manifest", manifest,
                      "--out", single, "--quiet"])
    check(rc == 0, "single run", se[-300:])

    pidfiles = []
    try:
        try:
            env, pidfiles = start_cluster(tmp)
            check(True, "a single-node Slurm started (munged, slurmctld, slurmd)")
        except (RuntimeError, OSError, KeyError, subprocess.TimeoutExpired) as e:
            check(False, "a single-node Slurm started", str(e))
            return finish()
        out = os.path.join(tmp, "out")
        job = os.path.join(tmp, "job.sh")
        with open(job, "w") as f:
            f.write("""#!/bin/sh
#SBATCH --job-name=gradcam-shards
#SBATCH --cpus-per-task=1
#SBATCH --output={tmp}/task-%a.log
export OMP_NUM_THREADS=1
exec {g} explain --model {m} --manifest {man} --quiet \\
    --out {out}/shard$SLURM_ARRAY_TASK_ID --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
""".format(tmp=tmp, g=gradcam, m=model, man=manifest, out=out))
        try:
            r = subprocess.run(["sbatch", "--wait", "--array=0-3", "--parsable", job], env=env,
                               capture_output=True, text=True, timeout=WAIT_S, cwd=tmp)
            ok = r.returncode == 0
            detail = (r.stderr or r.stdout).strip()
        except subprocess.TimeoutExpired:
            ok, detail = False, "sbatch --wait did not return in %d s" % WAIT_S
        logs = "".join(open(os.path.join(tmp, f)).read() for f in sorted(os.listdir(tmp))
                       if f.startswith("task-"))
        check(ok, "sbatch --array=0-3 ran every task and each exited 0",
              detail + " " + logs[-400:])
        shards = [os.path.join(out, "shard%d" % k) for k in range(4)]
        for k, d in enumerate(shards):
            p = os.path.join(d, "results.jsonl")
            idx = [json.loads(l)["index"] for l in open(p)] if os.path.exists(p) else None
            check(idx == list(range(k, 14, 4)), "task %d explained indices i %% 4 == %d" % (k, k),
                  str(idx))
        merged = os.path.join(tmp, "merged")
        rc, so, se = run([gradcam, "merge"] + shards + ["--out", merged])
        a_text = open(os.path.join(single, "results.jsonl")).read()
        m_path = os.path.join(merged, "results.jsonl")
        check(rc == 0 and os.path.exists(m_path) and open(m_path).read() == a_text,
              "merged array results equal the single run's", se.strip())
        diff = [f for f in sorted(os.listdir(single)) if f.endswith(".npy") and
                open(os.path.join(single, f), "rb").read() !=
                open(os.path.join(merged, f), "rb").read()] if rc == 0 else ["(merge failed)"]
        check(not diff, "merged maps and logits identical to the single run's", str(diff[:3]))
    finally:
        for p in reversed(pidfiles):
            stop(p)
    shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
