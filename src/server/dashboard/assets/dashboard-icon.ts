/** The dashboard's favicon: a padlock-ish hexagon, as SVG (served, not inlined: the CSP allows images from the server only). */
export const DASHBOARD_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<path d="M16 2 28 9v14l-12 7-12-7V9z" fill="#0d1b2a"/>
<rect x="11" y="14" width="10" height="8" rx="1.5" fill="#ffbf47"/>
<path d="M13 14v-2.5a3 3 0 0 1 6 0V14" fill="none" stroke="#ffbf47" stroke-width="2"/>
</svg>
`;
