//! Rendering of `sylvan report`: a self-contained HTML page (inline SVG charts drawn with
//! plotters, no script or network) describing a model, and the single SVG plots it is made of.
//! One module per job: [`charts`] (bar and line charts, shared colours), [`shap_plots`] (SHAP
//! beeswarm and dependence plots), [`tree_drawing`] (drawings of trees) and [`html`] (the page).
//! The command itself (loading the model and data, choosing sections) is `cli::report`.

pub mod charts;
pub mod html;
pub mod shap_plots;
pub mod tree_drawing;
