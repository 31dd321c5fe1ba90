// The widget's style sheet, prefixed "gru-" so that the host page's CSS and ours do not
// meet. Sizes in rem (200 % zoom), a full-screen dialog on small screens (mobile first),
// no motion when the visitor asked for less. Colours come from CSS variables set from the
// configuration after a contrast check.

export const CSS = `
.gru-root{--gru-primary:#000091;--gru-on-primary:#fff;--gru-text:#1e1e1e;--gru-muted:#4d4d4d;
--gru-bot-bg:#f0f0f5;--gru-bg:#fff;--gru-error:#b30000;--gru-focus:#0a0a0a;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:1rem;line-height:1.45;color:var(--gru-text)}
.gru-root *,.gru-root *::before,.gru-root *::after{box-sizing:border-box}
.gru-sr{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.gru-root button,.gru-root input,.gru-root textarea{font:inherit}
.gru-root :focus-visible{outline:3px solid var(--gru-focus);outline-offset:2px;box-shadow:0 0 0 5px #fff}
.gru-launcher{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;display:flex;align-items:center;gap:.5rem;
min-height:3rem;padding:.75rem 1.1rem;border:2px solid var(--gru-on-primary);border-radius:1.6rem;background:var(--gru-primary);
color:var(--gru-on-primary);font-weight:600;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.35)}
.gru-launcher svg{width:1.4rem;height:1.4rem;flex:none}
.gru-launcher[aria-expanded="true"]{display:none}
.gru-dialog{position:fixed;z-index:2147483001;inset:0;display:flex;flex-direction:column;background:var(--gru-bg);
height:var(--gru-vh,100%);max-height:100dvh}
.gru-dialog[hidden]{display:none}
@media (min-width:40em) and (min-height:32em){
.gru-dialog{inset:auto 1rem 1rem auto;width:24rem;max-width:calc(100vw - 2rem);height:min(40rem,calc(100vh - 2rem));
border-radius:.75rem;box-shadow:0 4px 24px rgba(0,0,0,.3);overflow:hidden;border:1px solid #767676}}
.gru-head{display:flex;align-items:flex-start;gap:.5rem;padding:.75rem 1rem;background:var(--gru-primary);color:var(--gru-on-primary)}
.gru-head-text{flex:1;min-width:0}
.gru-title{margin:0;font-size:1.1rem;line-height:1.3}
.gru-subtitle{margin:.1rem 0 0;font-size:.9rem}
.gru-close{flex:none;min-width:2.75rem;min-height:2.75rem;border:2px solid var(--gru-on-primary);border-radius:.4rem;
background:transparent;color:var(--gru-on-primary);cursor:pointer;font-size:.9rem;font-weight:600;padding:.25rem .5rem}
.gru-status{margin:0;padding:.35rem 1rem;font-size:.9rem;background:#fff4e5;color:#5c3200;border-bottom:1px solid #e0c9a6}
.gru-status:empty{display:none}
.gru-status.gru-ok{background:#eaf6ec;color:#18522a;border-color:#b8dcbf}
.gru-log{flex:1;overflow-y:auto;padding:1rem;display:flex;flex-direction:column;gap:.6rem;overscroll-behavior:contain}
.gru-msg{max-width:88%;padding:.6rem .8rem;border-radius:.8rem;overflow-wrap:anywhere}
.gru-msg p,.gru-msg ul,.gru-msg ol{margin:0}
.gru-msg p+p,.gru-msg p+ul,.gru-msg ul+p,.gru-msg p+ol,.gru-msg ol+p{margin-top:.5rem}
.gru-msg ul,.gru-msg ol{padding-left:1.3rem}
.gru-bot{align-self:flex-start;background:var(--gru-bot-bg);color:var(--gru-text);border-bottom-left-radius:.2rem}
.gru-wide{max-width:100%;align-self:stretch}
.gru-bot a{color:var(--gru-primary);text-decoration:underline}
.gru-user{align-self:flex-end;background:var(--gru-primary);color:var(--gru-on-primary);border-bottom-right-radius:.2rem}
.gru-notice{align-self:stretch;background:#fff;color:var(--gru-error);border:2px solid var(--gru-error);border-radius:.5rem;padding:.5rem .75rem}
.gru-replies{display:flex;flex-wrap:wrap;gap:.4rem;margin:0;padding:0;list-style:none}
.gru-btn{display:inline-flex;align-items:center;min-height:2.75rem;padding:.45rem .9rem;border:2px solid var(--gru-primary);
border-radius:1.4rem;background:#fff;color:var(--gru-primary);font-weight:600;cursor:pointer;text-align:left;text-decoration:none}
.gru-btn:hover{background:var(--gru-bot-bg)}
.gru-btn-solid{background:var(--gru-primary);color:var(--gru-on-primary)}
.gru-btn-solid:hover{background:var(--gru-primary);text-decoration:underline}
.gru-image{display:block;max-width:100%;height:auto;border-radius:.5rem}
.gru-cards{display:flex;gap:.6rem;margin:0;padding:0 0 .4rem;list-style:none;overflow-x:auto;scroll-snap-type:x mandatory;max-width:100%}
.gru-card{flex:0 0 15rem;max-width:85%;scroll-snap-align:start;display:flex;flex-direction:column;gap:.4rem;
background:#fff;border:1px solid #767676;border-radius:.6rem;padding:.6rem}
.gru-card-title{margin:0;font-weight:700}
.gru-card-sub{margin:0;color:var(--gru-muted);font-size:.95rem;white-space:pre-line}
.gru-card .gru-btn{justify-content:center}
.gru-typing{align-self:flex-start;display:flex;gap:.3rem;padding:.7rem .9rem;background:var(--gru-bot-bg);border-radius:.8rem}
.gru-typing[hidden]{display:none}
.gru-typing span{width:.5rem;height:.5rem;border-radius:50%;background:var(--gru-muted);animation:gru-blink 1.2s infinite ease-in-out}
.gru-typing span:nth-child(2){animation-delay:.2s}.gru-typing span:nth-child(3){animation-delay:.4s}
@keyframes gru-blink{0%,80%,100%{opacity:.25}40%{opacity:1}}
.gru-form{display:flex;gap:.5rem;padding:.6rem;border-top:1px solid #767676;background:#fff}
.gru-input{flex:1;min-width:0;min-height:2.75rem;padding:.5rem .7rem;border:2px solid #5e5e5e;border-radius:.4rem;color:var(--gru-text);background:#fff;font-size:1rem}
.gru-send{min-height:2.75rem;padding:.5rem .9rem;border:0;border-radius:.4rem;background:var(--gru-primary);color:var(--gru-on-primary);font-weight:600;cursor:pointer}
.gru-send:disabled{background:#6a6a6a;color:#fff;cursor:not-allowed}
.gru-foot{margin:0;padding:.3rem .8rem .5rem;font-size:.85rem;background:#fff;color:var(--gru-muted)}
.gru-foot a{color:var(--gru-primary)}
.gru-consent{display:flex;flex-direction:column;gap:.5rem}
.gru-consent p{margin:0}
@media (prefers-reduced-motion:reduce){.gru-root *{animation:none!important;transition:none!important;scroll-behavior:auto!important}
.gru-typing span{opacity:.7}}
@media (forced-colors:active){.gru-btn,.gru-send,.gru-launcher,.gru-close{border:2px solid ButtonText}}
`;
