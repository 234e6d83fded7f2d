"""Training a small Stable Diffusion from scratch on scikit-learn's digits (`vision-ext sd train`): the KL
autoencoder, a CLIP-style text encoder trained contrastively, then the text-conditioned U-Net on latents,
written out as a diffusers-format folder that StableDiffusionPipeline.from_pretrained loads."""
