-- Mart recommendation_quality: how good are the recommendations, against simple baselines?
-- A time-based split: the runner (jobs/evaluate.ts) cuts the user events at a cut-off into
-- `train_events` (before) and `test_events` (from then on), runs jobs/recommendations.sql on
-- the training part only into `recs_train`, and this job scores the top 5 of four methods
-- against what each test user bought after the cut-off:
--   recommender         — `recs_train`, the platform's recommendations;
--   popular             — the training best-sellers (most purchases), the same for everyone;
--   popular_in_category — the training best-sellers of the user's favourite category (the
--                         category of most of their training events);
--   random              — products ordered by md5(seed, user, product): deterministic, the same
--                         on every engine, `seed` a job parameter.
-- Every method offers only products in stock and never one the user carted or bought before
-- the cut-off. The relevant products of a user are those bought after the cut-off and not
-- carted or bought before it (a repeat purchase cannot be recommended, so it is not counted);
-- a test user did something before the cut-off and has at least one relevant product.
-- Per method, averaged over the test users (no recommendation scores 0):
--   precision_at_5 = hits / 5, recall_at_5 = hits / relevant products,
--   ndcg_at_5 = Σ 1 / log2(rank + 1) over the hits / the same sum for a perfect top 5;
-- coverage = distinct products recommended to the test users / products in stock.
-- One row per method, with no test user too (users 0, scores 0); each row also carries the
-- split: the cut-off (`evaluation_cutoff`, from the runner) and the events on either side.
with interactions as (
  select distinct user_id, product_id
  from train_events
  where type in ('add_to_cart', 'purchase')
),
history_size as (
  select user_id, count(*) as products from interactions group by user_id
),
available as (
  select product_id, category from products_current where stock_available > 0
),
catalogue as (
  select cast(count(*) as double) as products from available
),
relevant as (
  select distinct t.user_id, t.product_id
  from test_events t
  left join interactions i on i.user_id = t.user_id and i.product_id = t.product_id
  where t.type = 'purchase' and i.product_id is null
),
train_users as (
  select distinct user_id from train_events
),
test_users as (
  select r.user_id, cast(count(*) as double) as relevant_products
  from relevant r
  join train_users tu on tu.user_id = r.user_id
  group by r.user_id
),
sales as (
  select av.product_id, av.category, count(*) as purchases
  from train_events e
  join available av on av.product_id = e.product_id
  where e.type = 'purchase'
  group by av.product_id, av.category
),
best_sellers as (
  select
    product_id, category,
    row_number() over (order by purchases desc, product_id) as overall_rank,
    row_number() over (partition by category order by purchases desc, product_id) as category_rank
  from sales
),
favourite as (
  select user_id, category
  from (
    select
      e.user_id, p.category,
      row_number() over (partition by e.user_id order by count(*) desc, p.category) as affinity_rank
    from train_events e
    join products_current p on p.product_id = e.product_id
    group by e.user_id, p.category
  ) ranked
  where affinity_rank = 1
),
-- Each method's candidates for each test user, with an order (smaller first). The popular
-- lists need at most 5 more than the user's history, as only that history is left out.
candidates as (
  select 'recommender' as method, r.user_id, r.product_id, cast(r.rec_rank as double) as preference
  from recs_train r
  join test_users u on u.user_id = r.user_id
  union all
  select 'popular' as method, u.user_id, b.product_id, cast(b.overall_rank as double) as preference
  from test_users u
  left join history_size h on h.user_id = u.user_id
  join best_sellers b on b.overall_rank <= 5 + coalesce(h.products, 0)
  union all
  select
    'popular_in_category' as method, u.user_id, b.product_id,
    cast(b.category_rank as double) as preference
  from test_users u
  join favourite f on f.user_id = u.user_id
  left join history_size h on h.user_id = u.user_id
  join best_sellers b on b.category = f.category and b.category_rank <= 5 + coalesce(h.products, 0)
  union all
  select
    'random' as method, u.user_id, av.product_id,
    cast(row_number() over (
      partition by u.user_id
      order by md5(concat({{seed}}, '/', u.user_id, '/', av.product_id)), av.product_id
    ) as double) as preference
  from test_users u
  cross join available av
  left join interactions i on i.user_id = u.user_id and i.product_id = av.product_id
  where i.product_id is null
),
top5 as (
  select method, user_id, product_id, top_rank
  from (
    select
      c.method, c.user_id, c.product_id,
      row_number() over (partition by c.method, c.user_id order by c.preference, c.product_id) as top_rank
    from candidates c
    join available av on av.product_id = c.product_id
    left join interactions i on i.user_id = c.user_id and i.product_id = c.product_id
    where i.product_id is null
  ) ranked
  where top_rank <= 5
),
scored as (
  select
    t.method, t.user_id,
    cast(count(r.product_id) as double) as hits,
    sum(case when r.product_id is null then 0.0 else 1.0 / log2(t.top_rank + 1) end) as dcg
  from top5 t
  left join relevant r on r.user_id = t.user_id and r.product_id = t.product_id
  group by t.method, t.user_id
),
methods as (
  select 'recommender' as method
  union all
  select 'popular' as method
  union all
  select 'popular_in_category' as method
  union all
  select 'random' as method
),
per_user as (
  select
    m.method, u.user_id, u.relevant_products,
    coalesce(s.hits, 0.0) as hits,
    coalesce(s.dcg, 0.0) as dcg,
    -- The DCG of a perfect top 5: a hit at each of the first min(relevant, 5) ranks.
    1.0
      + case when u.relevant_products >= 2 then 1.0 / log2(3) else 0.0 end
      + case when u.relevant_products >= 3 then 1.0 / log2(4) else 0.0 end
      + case when u.relevant_products >= 4 then 1.0 / log2(5) else 0.0 end
      + case when u.relevant_products >= 5 then 1.0 / log2(6) else 0.0 end as ideal_dcg
  from methods m
  cross join test_users u
  left join scored s on s.method = m.method and s.user_id = u.user_id
),
coverage as (
  select method, cast(count(distinct product_id) as double) as products
  from top5
  group by method
),
split as (
  select c.cutoff, tr.events as train_events, te.events as test_events
  from evaluation_cutoff c
  cross join (select count(*) as events from train_events) tr
  cross join (select count(*) as events from test_events) te
)
select
  m.method,
  cast(count(p.user_id) as int) as users,
  round(coalesce(avg(p.hits / 5.0), 0.0), 6) as precision_at_5,
  round(coalesce(avg(p.hits / p.relevant_products), 0.0), 6) as recall_at_5,
  round(coalesce(avg(p.dcg / p.ideal_dcg), 0.0), 6) as ndcg_at_5,
  round(coalesce(max(c.products), 0.0) / max(k.products), 6) as coverage,
  max(s.cutoff) as cutoff,
  max(s.train_events) as train_events,
  max(s.test_events) as test_events
from methods m
cross join catalogue k
cross join split s
left join per_user p on p.method = m.method
left join coverage c on c.method = m.method
group by m.method
