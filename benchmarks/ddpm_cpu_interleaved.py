"""DDPM CPU timings, ours vs diffusers interleaved in rounds (median of 7): python benchmarks/ddpm_cpu_interleaved.py THREADS."""
import sys, time, torch, statistics as st
nt=int(sys.argv[1]); torch.set_num_threads(nt)
import diffusers, vision_ext.ops.ddpm as O
from vision_ext.diffusion import DDPMScheduler
ours=DDPMScheduler(); ours.set_timesteps(1000)
ref=diffusers.DDPMScheduler(); ref.set_timesteps(1000)
def tm(f, reps):
    f(); t0=time.perf_counter()
    for _ in range(reps): f()
    return (time.perf_counter()-t0)/reps
for shp in [(16,3,32,32),(8,3,256,256)]:
    g=torch.Generator().manual_seed(0)
    m=torch.randn(shp,generator=g); x=torch.randn(shp,generator=g); n=torch.randn(shp,generator=g)
    t=torch.randint(0,1000,(shp[0],),generator=g)
    N=m.numel(); reps=200 if N<1e5 else 5
    tt=torch.full((shp[0],),500); tp=tt-1; ac=ours.alphas_cumprod if hasattr(ours,'alphas_cumprod') else None
    fs={"ours_step":lambda: ours.step(m,500,x).prev_sample,
        "diff_step":lambda: ref.step(m,500,x,generator=torch.Generator().manual_seed(0)).prev_sample,
        "op_step_philox":lambda: O.ddpm_step(m,x,tt,tp,ac,None,None,1,0),
        "op_step_noise":lambda: O.ddpm_step(m,x,tt,tp,ac,n,None,1,0),
        "philox":lambda: O.philox_normal_like(x,1,0),
        "ours_add":lambda: ours.add_noise(x,n,t),
        "diff_add":lambda: ref.add_noise(x,n,t)}
    r={k:[] for k in fs}
    for _ in range(7):
        for k,f in fs.items(): r[k].append(tm(f,reps))
    med={k:st.median(v) for k,v in r.items()}
    print(shp,"threads",nt, " ".join(f"{k}={med[k]*1e3:.3f}ms({med[k]/N*1e9:.2f}ns/el)" for k in fs))
    print("   step speedup x%.1f  add speedup x%.1f"%(med["diff_step"]/med["ours_step"], med["diff_add"]/med["ours_add"]))
